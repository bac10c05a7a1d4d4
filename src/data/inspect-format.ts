import type { InspectReport } from './inspect.js';

/** The inspect report as text for a person. */
export function formatInspect(r: InspectReport): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : 'n/a');
  const lines: string[] = [];
  for (const s of r.shards) {
    lines.push(`${s.path}`);
    lines.push(`  format ${s.format}, compression ${s.compression ?? 'none'}, ${s.recordBatches} record batches, ${s.rows} rows`);
    lines.push(`  activation: ${s.columnType}, width ${s.d}, ${s.layout === 'sequences' ? 'sequences flattened to one row per token' : 'one row per token'}`);
    lines.push(`  columns: ${s.fields.map((c) => `${c.name} ${c.type}`).join(', ')}`);
  }
  const meta = Object.entries(r.metadata);
  if (meta.length > 0) {
    lines.push('metadata:');
    for (const [k, v] of meta) lines.push(`  ${k}: ${v.length > 100 ? v.slice(0, 97) + '...' : v}`);
  }
  lines.push(`total: ${r.rows} rows of width ${r.d} in ${r.shards.length} file(s)`);
  lines.push(`activation norm: mean ${f(r.norm.mean)}, min ${f(r.norm.min)}, max ${f(r.norm.max)}`);
  lines.push(`per-dimension mean: ${f(r.dimMean.min)} .. ${f(r.dimMean.max)}`);
  lines.push(`per-dimension std:  ${f(r.dimStd.min)} .. ${f(r.dimStd.max)}`);
  if (r.nonFinite.rows > 0) {
    lines.push(`NaN/Inf: ${r.nonFinite.rows} rows (first row ids: ${r.nonFinite.firstRowIds.join(', ')}); training would stop at the first.`);
  } else lines.push('NaN/Inf: none');
  return lines.join('\n');
}
