import fs from 'node:fs';
import { InternalError } from '../errors.js';
import { escapeHtml, jsonForScript } from './escape.js';

/**
 * The frame every report page shares: one HTML file with its style, data and script inline and a
 * Content-Security-Policy that forbids any request (default-src 'none'), so the page works from
 * file:// offline and can never fetch anything, whatever the data holds.
 */

const STYLE = `
:root { --fg:#1d2330; --muted:#5d6778; --line:#d8dde6; --bg:#fff; --panel:#f6f8fb; --accent:#2f6fde; --warn:#b54708; --bad:#b42318; --mark:#ffe08a; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 16px 24px 8px; border-bottom: 1px solid var(--line); }
header h1 { margin: 0 0 4px; font-size: 20px; }
header .sub { color: var(--muted); font-size: 12px; }
main { padding: 8px 24px 40px; }
section { margin-top: 22px; }
h2 { font-size: 16px; margin: 0 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 14px; margin: 12px 0 6px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; background: #e7ecf5; }
.badge.finished { background: #d7f2df; } .badge.running { background: #dde9ff; } .badge.interrupted, .badge.failed { background: #fde2d8; }
.notice { border: 1px solid #f4c7a1; background: #fff6ed; padding: 8px 12px; border-radius: 6px; }
.notice li { margin: 2px 0; } .notice code { word-break: break-all; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; }
.grid { display: flex; flex-wrap: wrap; gap: 10px; }
svg.chart { background: var(--panel); border-radius: 6px; font-size: 10px; }
svg.chart .title { font-size: 12px; font-weight: 600; fill: var(--fg); }
svg.chart .axes line { stroke: #9aa3b2; stroke-width: 1; } svg.chart .axes line.grid { stroke: #e3e7ee; }
svg.chart .axes text, svg.chart .empty { fill: var(--muted); }
svg.chart .series path { fill: none; stroke: var(--accent); stroke-width: 1.6; }
svg.chart .series.s1 path { stroke: #d9480f; }
svg.chart .series circle { fill: var(--accent); }
svg.chart .bars rect { fill: var(--accent); opacity: .85; }
svg.chart line.marker { stroke: #d9480f; stroke-dasharray: 3 3; stroke-width: 1.2; }
svg.chart .point text { fill: var(--fg); font-size: 11px; }
table.data { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.data th, table.data td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
table.data th { background: var(--panel); }
table.data td.l, table.data th.l { text-align: left; }
pre.config { background: var(--panel); padding: 10px; border-radius: 6px; overflow: auto; max-height: 420px; font-size: 12px; }
#browser { display: grid; grid-template-columns: minmax(0, 1.25fr) minmax(0, 1fr); gap: 14px; align-items: start; }
#controls { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin-bottom: 8px; }
#controls input[type=search] { width: 220px; padding: 4px 6px; }
#table-wrap { max-height: 640px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
#feature-table { font-size: 12px; font-variant-numeric: tabular-nums; }
#feature-table .row { display: grid; grid-template-columns: var(--cols); border-bottom: 1px solid var(--line); }
#feature-table .row > span { padding: 2px 6px; text-align: right; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
#feature-table .row > span.tok { text-align: left; }
/* Rows off screen skip layout and paint: what keeps 16k rows quick to open. */
#feature-table .rows .row { content-visibility: auto; contain-intrinsic-size: auto 21px; cursor: pointer; }
#feature-table .row[hidden] { display: none; }
#feature-table .head { position: sticky; top: 0; z-index: 1; background: var(--panel); font-weight: 600; }
#feature-table .head > span { cursor: pointer; user-select: none; }
#feature-table .head > span[aria-sort=ascending]::after { content: " ▲"; } #feature-table .head > span[aria-sort=descending]::after { content: " ▼"; }
#feature-table .rows .row:hover { background: #eef3fc; }
#feature-table .rows .row.selected { background: #dce8fd; }
#feature-table .row.dead > span:first-child { color: var(--bad); } #feature-table .row.dense > span:first-child { color: var(--warn); }
#card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; position: sticky; top: 8px; min-height: 200px; overflow-x: auto; }
#card table.examples th:last-child { white-space: normal; }
#card .ctx { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; white-space: pre-wrap; word-break: break-word; }
#card mark { background: var(--mark); border-radius: 2px; padding: 0 1px; outline: 1px solid #e0b400; }
#card table.examples td { vertical-align: top; white-space: normal; }
#card button.link, .link { background: none; border: none; color: var(--accent); cursor: pointer; padding: 0; font: inherit; text-decoration: underline; }
.muted { color: var(--muted); }
`;

/** The compiled feature-browser script (dist/report/client/report-client.js, built by `npm run build`). */
export function clientScript(): string {
  const url = new URL('./client/report-client.js', import.meta.url);
  try {
    return fs.readFileSync(url, 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '');
  } catch {
    throw new InternalError(`the report's browser script ${url.pathname} is missing; run \`npm run build\`.`);
  }
}

export interface PageSpec {
  title: string;
  /** Trusted HTML (every data value already escaped). */
  header: string;
  body: string;
  /** Embedded as <script type="application/json" id="report-data">. */
  data?: unknown;
  /** Include the feature-browser script. */
  script?: boolean;
}

export function pageHtml(spec: PageSpec): string {
  const csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(spec.title)}</title>`,
    '<link rel="icon" href="data:,">',
    `<style>${STYLE}</style></head><body>`,
    `<header>${spec.header}</header>`,
    `<main>${spec.body}</main>`,
    spec.data !== undefined ? `<script type="application/json" id="report-data">${jsonForScript(spec.data)}</script>` : '',
    spec.script ? `<script type="module">${clientScript()}</script>` : '',
    '</body></html>',
    '',
  ].join('\n');
}
