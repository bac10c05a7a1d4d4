import path from 'node:path';
import type { MetricsRecord } from '../io/run-layout.js';
import { escapeHtml, formatNumber } from './escape.js';
import { packFeatures } from './feature-payload.js';
import type { DictionaryTokenEffects } from './token-effects.js';
import type { FeaturePayload, RunPageData } from './feature-payload-types.js';
import { pageHtml } from './page-shell.js';
import type { RunReportData } from './run-data.js';
import { histogramSvg, lineChartSvg, type Marker } from './svg-chart.js';

/** The training curves, in page order: metrics.jsonl field and title. */
export const CURVES: { key: keyof MetricsRecord; title: string; logY?: boolean }[] = [
  { key: 'loss', title: 'loss', logY: true },
  { key: 'mse', title: 'MSE', logY: true },
  { key: 'explainedVariance', title: 'explained variance' },
  { key: 'l0', title: 'L0 (active features per token)' },
  { key: 'deadFraction', title: 'dead fraction' },
  { key: 'lr', title: 'learning rate' },
  { key: 'l1Coefficient', title: 'L1 coefficient' },
];


function kv(rows: [string, string][]): string {
  return `<dl class="kv">${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

/** A count with thousands separators; '–' when run.json lacks it (older or hand-made runs). */
function count(v: unknown): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString('en-US') : '–';
}

/** Any run.json field as escaped text. */
function text(v: unknown): string {
  return v === undefined || v === null ? '–' : escapeHtml(String(v));
}

function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.round(seconds);
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function kernelText(r: RunReportData): string {
  const cfg = (r.config ?? {}) as { train?: { kernel?: unknown; workers?: unknown } };
  const configured = `configured ${text(cfg.train?.kernel ?? 'auto')}, ${text(cfg.train?.workers ?? 'auto')} worker(s)`;
  const k = r.kernel;
  if (!k) return `${configured} <span class="muted">(no checkpoint records the choice; the training log prints it)</span>`;
  const workers = k.workers === null ? '' : k.workers === 0 ? ' on the main thread' : ` x${k.workers} workers`;
  return `<span class="kernel">${k.current}${workers}</span> at the checkpoint of step ${k.step}${k.lastL0 !== null ? ` (L0 ${formatNumber(k.lastL0, 3)})` : ''}; ${configured}`;
}

function summarySection(r: RunReportData): string {
  const { info } = r;
  const cfg = (r.config ?? {}) as { sae?: { recipe?: unknown; l1?: unknown } };
  const last = r.metrics.at(-1);
  const meta = Object.entries(info.dataMetadata ?? {})
    .map(([k, v]) => `${escapeHtml(k)}=${escapeHtml(String(v))}`)
    .join(', ');
  const rows: [string, string][] = [
    ['status', `<span class="badge ${escapeHtml(info.status)}">${escapeHtml(info.status)}</span>${info.reason ? ` ${text(info.reason)}` : ''}`],
    ['progress', `step ${info.step} of ${info.totalSteps}, ${count(info.tokens)} tokens`],
    ['training time', `${duration(last?.elapsedSeconds)}${last ? ` (last logged ${formatNumber(last.tokensPerSecond, 3)} tokens/s)` : ''}`],
    ['backend', text(info.backend)],
    ['kernel, workers', kernelText(r)],
    ['dictionary', `d = ${info.d}, m = ${info.m} (${formatNumber(info.m / info.d, 3)}x), recipe ${escapeHtml(String(cfg.sae?.recipe ?? '–'))}, L1 ${escapeHtml(String(cfg.sae?.l1 ?? '–'))}`],
    ['data', `${count(info.trainRows)} training rows, ${count(info.evalRows)} held out${meta ? `; ${meta}` : ''}`],
    ['input scale', formatNumber(info.inputScale)],
    ['seed', text(info.seed)],
    ['created, updated', `${text(info.createdAt)}, ${text(info.updatedAt)}`],
  ];
  return `<section id="run"><h2>Run</h2>${kv(rows)}<details><summary>resolved config (config.json)</summary><pre class="config">${escapeHtml(JSON.stringify(r.config, null, 2))}</pre></details></section>`;
}

function missingSection(r: RunReportData): string {
  if (r.missing.length === 0 && r.warnings.length === 0) return '';
  const items = [
    ...r.missing.map((m) => `<li><code>${escapeHtml(path.basename(m.file))}</code>: ${escapeHtml(m.why)}</li>`),
    ...r.warnings.map((w) => `<li>${escapeHtml(w)}</li>`),
  ];
  return `<section id="missing" class="notice"><strong>Not shown, or shown in part:</strong><ul>${items.join('')}</ul></section>`;
}

function curvesSection(r: RunReportData, markers: Marker[]): string {
  const charts = CURVES.map((c) =>
    lineChartSvg({
      id: c.key,
      title: c.title,
      xLabel: 'step',
      series: [{ name: c.title, points: r.metrics.map((m) => [m.step, typeof m[c.key] === 'number' ? (m[c.key] as number) : NaN]) }],
      markers,
      ...(c.logY ? { logY: true } : {}),
    }),
  );
  const note = markers.length ? ' Dashed lines: resampling events.' : '';
  return `<section id="curves"><h2>Training curves</h2><p class="muted">From metrics.jsonl, ${r.metrics.length} records.${note}</p><div class="grid">${charts.join('')}</div></section>`;
}

function isHistogram(h: unknown): h is { edges: number[]; counts: number[] } {
  const x = h as { edges?: unknown; counts?: unknown } | null | undefined;
  const numbers = (a: unknown): a is number[] => Array.isArray(a) && a.every((v) => typeof v === 'number');
  return !!x && numbers(x.edges) && numbers(x.counts) && x.edges.length === x.counts.length + 1;
}

function evalSection(r: RunReportData): string {
  const ev = r.evalMetrics;
  const hist = [r.featuresSummary?.densityHistogram, ev?.log10DensityHistogram].find(isHistogram) ?? null;
  const chart = hist
    ? histogramSvg({ id: 'density', title: 'log10 feature density (features per bin)', xLabel: 'log10 firing frequency', edges: hist.edges, counts: hist.counts })
    : '';
  if (!ev && !chart) return `<section id="eval"><h2>Held-out evaluation</h2><p class="muted">Not available yet (see above).</p></section>`;
  const rows: string[] = [];
  const add = (prefix: string, obj: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v === 'number') rows.push(`<tr><td class="l">${escapeHtml(prefix + k)}</td><td>${formatNumber(v)}</td></tr>`);
      else if (v && typeof v === 'object' && !Array.isArray(v) && k !== 'log10DensityHistogram') add(`${prefix}${k}.`, v as Record<string, unknown>);
    }
  };
  if (ev) add('', ev as unknown as Record<string, unknown>);
  const table = ev ? `<table class="data" id="eval-table"><thead><tr><th class="l">metric (eval.json)</th><th>value</th></tr></thead><tbody>${rows.join('')}</tbody></table>` : '';
  return `<section id="eval"><h2>Held-out evaluation</h2><div class="grid">${table}${chart}</div></section>`;
}

function resampleSection(r: RunReportData, markers: Marker[]): string {
  const rep = r.resample;
  if (rep.events.length === 0) return `<section id="resampling"><h2>Resampling</h2><p>${escapeHtml(rep.message ?? 'No resampling event.')}</p></section>`;
  const n = (v: number | null) => (v === null ? '–' : String(v));
  const pair = (a: number | undefined, b: number | undefined) => `${formatNumber(a ?? null)} → ${formatNumber(b ?? null)}`;
  const rows = rep.events.map(
    (e) =>
      `<tr><td>${e.event}</td><td>${e.step}</td><td>${e.dead} (${formatNumber(e.deadFraction * 100, 3)}%)</td><td>${e.resampled}</td>` +
      `<td>${e.revived === null ? '–' : `${e.revived}/${e.resampled}${e.revivedWindowComplete === false ? ' (window cut short)' : ''}`}</td>` +
      `<td>${n(e.deadAgain)}${e.deadAgainAt ? ` (${e.deadAgainAt === 'end' ? 'at end' : 'next event'})` : ''}</td>` +
      `<td>${pair(e.before?.loss, e.after?.loss)}</td><td>${pair(e.before?.explainedVariance, e.after?.explainedVariance)}</td></tr>`,
  );
  const timeline = lineChartSvg({
    id: 'resample-timeline',
    title: 'dead fraction and resampling events',
    xLabel: 'step',
    series: [{ name: 'dead fraction', points: rep.timeline.map((t) => [t.step, t.deadFraction]) }],
    markers,
    width: 520,
  });
  const total = rep.events.reduce((s, e) => s + e.resampled, 0);
  return (
    `<section id="resampling"><h2>Resampling</h2><p>${rep.events.length} events, ${total} features resampled in all; a feature is dead after ${n(rep.deadWindow)} steps without firing.</p>` +
    `<div class="grid"><table class="data" id="resample-table"><thead><tr><th>event</th><th>step</th><th>dead before</th><th>resampled</th><th>revived in window</th><th>dead again</th><th>loss before → after</th><th>EV before → after</th></tr></thead><tbody>${rows.join('')}</tbody></table>${timeline}</div></section>`
  );
}

function browserSection(r: RunReportData, payload: FeaturePayload | null): string {
  if (!payload) return `<section id="features"><h2>Features</h2><p>No feature statistics to browse (see above).</p></section>`;
  const s = r.featuresSummary;
  const counts = s ? ` ${s.alive} alive, ${s.dead} dead, ${s.dense} dense, ${s.nearDuplicates.count} near-duplicates (nearest cos &gt; ${s.nearDuplicates.threshold}).` : '';
  return `<section id="features"><h2>Features</h2>
<p>${payload.m} features, statistics over ${payload.rows.toLocaleString('en-US')} held-out rows.${counts} Click a column to sort, a row to open the feature's card; up to ${payload.examplesPerFeature} top examples each.</p>
<div id="controls"><input type="search" id="filter" placeholder="filter: index or token" aria-label="filter features">
<label><input type="checkbox" id="hide-dead"> hide dead</label> <label><input type="checkbox" id="only-dense"> dense only</label>
<label><input type="checkbox" id="only-resampled"> resampled only</label> <span id="shown-count" class="muted"></span></div>
<div id="browser"><div id="table-wrap"><div id="feature-table" role="table" aria-label="features"><div class="row head" role="row"></div><div class="rows" role="rowgroup"></div></div></div>
<div id="card"><p class="muted">Select a feature.</p></div></div></section>`;
}

export interface RunPageOptions {
  /** Top examples per feature embedded in the page. */
  examples: number;
  generatedAt: string;
  /** With `--model`: each feature's promoted and suppressed tokens. */
  tokenEffects?: DictionaryTokenEffects | null;
}

/** The run's report page as one self-contained HTML string. */
export function runPageHtml(r: RunReportData, opts: RunPageOptions): string {
  const markers: Marker[] = r.resample.events.map((e) => ({ x: e.step, label: `resampling event ${e.event} at step ${e.step}: ${e.resampled} features` }));
  const payload = r.features ? packFeatures(r.features, opts.examples, opts.tokenEffects ?? null) : null;
  const name = path.basename(r.dir);
  const header = `<h1>${escapeHtml(name)} <span class="badge ${escapeHtml(r.info.status)}">${escapeHtml(r.info.status)}</span></h1><div class="sub">${escapeHtml(r.dir)} · report generated ${escapeHtml(opts.generatedAt)} by sae report</div>`;
  const body = [missingSection(r), summarySection(r), curvesSection(r, markers), evalSection(r), resampleSection(r, markers), browserSection(r, payload)].join('\n');
  const data: RunPageData = { kind: 'run', features: payload };
  // The script also marks the page ready (body[data-ready]) when there are no features to browse.
  return pageHtml({ title: `sae report: ${name}`, header, body, data, script: true });
}
