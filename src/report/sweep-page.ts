import { escapeHtml, formatNumber } from './escape.js';
import { pageHtml } from './page-shell.js';
import type { SweepReportData } from './sweep-data.js';
import { scatterSvg } from './svg-chart.js';

/** Each run's settings in a few characters: `l1=0.3 expansion=8`. */
export function runLabel(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k.slice(k.lastIndexOf('.') + 1)}=${v}`)
    .join(' ');
}

export interface SweepPageOptions {
  generatedAt: string;
  /** Run name -> relative link to its report page (runs without a page are not linked). */
  links: Map<string, string>;
}

/** The sweep's page: the L0 / explained-variance frontier, the table, links to each run's page. */
export function sweepPageHtml(s: SweepReportData, opts: SweepPageOptions): string {
  const finished = s.rows.filter((r) => r.l0 !== null && r.explainedVariance !== null);
  const frontier = scatterSvg({
    id: 'frontier',
    title: 'explained variance against L0 (held out), one point per run',
    xLabel: 'L0',
    yLabel: 'explained variance',
    points: finished.map((r) => ({
      x: r.l0!,
      y: r.explainedVariance!,
      label: runLabel(r.params) + (r.mmcs !== null ? ` (MMCS ${formatNumber(r.mmcs, 3)})` : ''),
      ...(opts.links.has(r.run) ? { href: opts.links.get(r.run)! } : {}),
    })),
  });
  const hasMmcs = s.rows.some((r) => r.mmcs !== null);
  const head = ['run', 'status', ...s.keys, 'width', 'L0', 'explained variance', 'dead fraction', 'MSE', ...(hasMmcs ? ['MMCS'] : [])];
  const body = s.rows.map((r) => {
    const link = opts.links.get(r.run);
    const name = link ? `<a href="${escapeHtml(link)}">${escapeHtml(r.run)}</a>` : escapeHtml(r.run);
    const cells = [
      `<td class="l">${name}</td>`,
      `<td class="l"><span class="badge ${escapeHtml(r.status)}">${escapeHtml(r.status)}</span>${r.error ? ` <span class="muted">${escapeHtml(r.error)}</span>` : ''}</td>`,
      ...s.keys.map((k) => `<td>${escapeHtml(r.params[k] ?? '')}</td>`),
      `<td>${formatNumber(r.width)}</td>`,
      `<td>${formatNumber(r.l0)}</td>`,
      `<td>${formatNumber(r.explainedVariance)}</td>`,
      `<td>${formatNumber(r.deadFraction)}</td>`,
      `<td>${formatNumber(r.mse)}</td>`,
      ...(hasMmcs ? [`<td>${formatNumber(r.mmcs)}</td>`] : []),
    ];
    return `<tr data-run="${escapeHtml(r.run)}">${cells.join('')}</tr>`;
  });
  const warnings = s.warnings.length ? `<section id="missing" class="notice"><ul>${s.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></section>` : '';
  const header =
    `<h1>sweep ${escapeHtml(s.dir.split(/[\\/]/).pop() ?? s.dir)}</h1>` +
    `<div class="sub">${escapeHtml(s.dir)} · ${s.rows.length} runs, ${finished.length} finished · grid ${escapeHtml(s.grid.join(' '))} · report generated ${escapeHtml(opts.generatedAt)} by sae report</div>`;
  const bodyHtml = [
    warnings,
    `<section id="frontier-section"><h2>Frontier</h2><p class="muted">Held-out metrics from each run's eval.json; a point links to the run's own report. A CE-loss score is not shown: the runs do not record one.</p>${frontier}</section>`,
    `<section id="sweep"><h2>Runs</h2><table class="data" id="sweep-table"><thead><tr>${head.map((h, i) => `<th${i < 2 ? ' class="l"' : ''}>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>` +
      (s.config ? `<p class="muted">base config ${escapeHtml(s.config)}; rows from ${escapeHtml(s.source)}</p>` : '') +
      '</section>',
  ].join('\n');
  return pageHtml({ title: `sae report: sweep ${s.dir}`, header, body: bodyHtml, script: true });
}
