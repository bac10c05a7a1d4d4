import type { TopExample } from './stats.js';
import type { FeatureStatsSummary } from './summary.js';
import type { FeatureCard, FeatureListing, FeatureRow } from './view.js';

/** Human text for `sae features`: pure functions of the listing / card. */

/** Make a token printable on one line: control characters as escapes. */
function visible(s: string): string {
  return s.replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t').replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A token wrapped in the activation marker, leading spaces left outside: " cat" -> " [[cat]]". */
export function markToken(token: string): string {
  const lead = /^\s*/.exec(token)![0];
  return `${visible(lead)}[[${visible(token.slice(lead.length))}]]`;
}

/**
 * An example's context as one line with the activating token marked. Token pieces carry their own
 * spaces (sentencepiece), so they are concatenated; token ids (`#12`, no token column) are spaced.
 */
export function renderContext(e: TopExample): string {
  if (e.focus < 0 || e.context.length === 0) return '';
  const sep = e.token === null ? ' ' : '';
  return e.context.map((t, i) => (i === e.focus ? markToken(t) : visible(t))).join(sep);
}

function num(v: number | null, digits = 3): string {
  if (v === null || Number.isNaN(v)) return '-';
  return v.toFixed(digits);
}

function pct(p: number): string {
  return p === 0 ? '0' : p >= 0.001 ? `${(100 * p).toFixed(2)}%` : `${(100 * p).toExponential(1)}%`;
}

function flags(r: FeatureRow): string {
  const f = [r.dead ? 'dead' : '', r.dense ? 'dense' : '', r.resampleCount > 0 ? `resampled x${r.resampleCount}` : ''];
  return f.filter(Boolean).join(',') || '-';
}

function table(header: string[], rows: string[][], rightAlign: boolean[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) =>
    cells.map((s, c) => (c === cells.length - 1 ? s : rightAlign[c] ? s.padStart(widths[c]!) : s.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `sae features <run>`: one line per feature. */
export function formatFeatureList(l: FeatureListing): string {
  const header = ['index', 'freq', 'log10', 'mean', 'max', 'nearest', 'cos', 'flags', 'top tokens'];
  const rows = l.shown.map((r) => [
    String(r.index),
    pct(r.frequency),
    r.log10Density.toFixed(2),
    num(r.meanActivation),
    num(r.maxActivation),
    r.nearestIndex === null ? '-' : String(r.nearestIndex),
    num(r.nearestCos),
    flags(r),
    r.topTokens.map((t) => JSON.stringify(t)).join(' '),
  ]);
  const title = `${l.run}: ${l.features} features, statistics over ${l.rows} rows; ${l.shown.length} shown, sorted by ${l.sort}${l.ascending ? ', smallest first' : ''}`;
  return `${title}\n${table(header, rows, [true, true, true, true, true, true, true, false, false])}`;
}

/** `sae features <run> N`: the statistics and the top examples in context. */
export function formatFeatureCard(c: FeatureCard): string {
  const lines = [
    `feature ${c.index} of ${c.run} (statistics over ${c.rows} rows)`,
    `  fires on ${pct(c.frequency)} of rows (${c.fireCount}), log10 density ${c.log10Density.toFixed(2)}`,
    `  activation when firing: mean ${num(c.meanActivation)}, std ${num(c.stdActivation)}, max ${num(c.maxActivation)}`,
    `  decoder norm ${num(c.decoderNorm)}, encoder norm ${num(c.encoderNorm)}, cos(encoder, decoder) ${num(c.encoderDecoderCos)}`,
    `  nearest decoder direction: ${c.nearestIndex === null ? '-' : `feature ${c.nearestIndex} (cos ${num(c.nearestCos)})`}`,
    `  resampled: ${c.resampleCount === 0 ? 'never' : `${c.resampleCount}x, last at step ${c.lastResampleStep}`}`,
    `  flags: ${flags(c)}`,
  ];
  if (c.topExamples.length === 0) {
    lines.push(c.dead ? '  no examples: the feature never fired on these rows.' : '  no examples kept (top-k was 0).');
    return lines.join('\n');
  }
  lines.push(`top ${c.topExamples.length} examples (activation, row, doc:pos, context +-${c.contextTokens} tokens):`);
  const act = c.topExamples.map((e) => e.activation.toFixed(3));
  const row = c.topExamples.map((e) => `row ${e.rowId}`);
  const where = c.topExamples.map((e) => (e.docId !== null ? `${e.docId}:${e.pos ?? '?'}` : e.pos !== null ? `pos ${e.pos}` : ''));
  const wa = Math.max(...act.map((s) => s.length));
  const wr = Math.max(...row.map((s) => s.length));
  const ww = Math.max(...where.map((s) => s.length));
  c.topExamples.forEach((e, i) => {
    lines.push(`  ${act[i]!.padStart(wa)}  ${row[i]!.padEnd(wr)}  ${where[i]!.padEnd(ww)}  ${renderContext(e)}`.trimEnd());
  });
  return lines.join('\n');
}

/** `sae stats`: the summary of the written statistics, with the non-empty part of the density histogram. */
export function formatStatsSummary(r: { summary: FeatureStatsSummary; arrowPath: string; jsonPath: string; seconds: number; backend: string }): string {
  const s = r.summary;
  const share = (n: number) => `${n} (${((100 * n) / s.features).toFixed(1)}%)`;
  const lines = [
    `${s.features} features over ${s.rows} rows (top ${s.settings.topK} examples, +-${s.settings.contextTokens} tokens of context) in ${r.seconds.toFixed(1)} s on ${r.backend}`,
    `  alive ${s.alive}, dead ${share(s.dead)}, dense ${share(s.dense)} (frequency > ${s.settings.denseThreshold}), L0 ${s.l0.toFixed(2)}`,
    `  near-duplicate decoder directions (cos > ${s.nearDuplicates.threshold}): ${s.nearDuplicates.count}; resampled during training: ${s.resampled}`,
  ];
  // Features that never fired all sit at -10: say so instead of drawing the empty decades between.
  const counts = [...s.densityHistogram.counts];
  counts[0]! -= s.neverFired;
  const edges = s.densityHistogram.edges;
  const first = counts.findIndex((c) => c > 0);
  const last = counts.length - 1 - [...counts].reverse().findIndex((c) => c > 0);
  const peak = Math.max(...counts);
  lines.push(`  log10 density of the ${s.features - s.neverFired} features that fired (${s.neverFired} never did):`);
  for (let b = first; b >= 0 && b <= last; b++) {
    const bar = '#'.repeat(Math.round((40 * counts[b]!) / peak));
    lines.push(`    [${edges[b]!.toFixed(1).padStart(5)}, ${edges[b + 1]!.toFixed(1).padStart(5)}) ${String(counts[b]).padStart(6)} ${bar}`.trimEnd());
  }
  lines.push(`wrote ${r.arrowPath} and ${r.jsonPath}`);
  return lines.join('\n');
}
