#!/usr/bin/env node
// The README's synthetic-data table ("Architectures on synthetic data with a known dictionary"),
// from the run directories of a sweep over `sae synth` data: how well each architecture recovers
// the true features, regenerated from what the runs wrote (not copied by hand).
//
//   node scripts/synthetic-table.mjs SWEEP_DIR [RUN_DIR ...] [--tsv]
//
// Per run: config.json (architecture and knob), run.json (steps), eval.json (L0, explained
// variance, dead on the held-out rows) and ground-truth.json beside them, the output of
//   sae eval RUN --data EVAL.arrow --ground-truth ground-truth.safetensors --json > RUN/ground-truth.json
// (metrics.groundTruth: MMCS, the one-to-one matched mean |cos|, true features recovered above
// cosine 0.9 and 0.99). `best` marks each architecture's run with the highest MMCS.
import path from 'node:path';
import { LEAD_COLUMNS, readJson, renderTable, runBasics, tableMain } from './architecture-table.mjs';

/** One row from a run directory, or null (with the reason) when it lacks a finished run or its ground-truth scores. */
export function syntheticRowOf(dir) {
  const basics = runBasics(dir);
  if (!basics) return { row: null, why: 'not finished' };
  const gt = readJson(path.join(dir, 'ground-truth.json'))?.metrics?.groundTruth;
  if (!gt) return { row: null, why: 'no ground-truth.json (sae eval RUN --ground-truth GT --json > RUN/ground-truth.json)' };
  const row = {
    ...basics.row,
    features: gt.features,
    mmcs: gt.mmcs,
    matched: gt.matchedMeanAbsCosine,
    recovered090: gt.recovered090,
    recovered099: gt.recovered099,
    best: false,
  };
  return { row, why: '' };
}

/** Marks each architecture's row with the highest MMCS (first in order on a tie). */
export function markBest(rows) {
  const best = new Map();
  for (const r of rows) if (!best.has(r.architecture) || r.mmcs > best.get(r.architecture).mmcs) best.set(r.architecture, r);
  return rows.map((r) => ({ ...r, best: best.get(r.architecture) === r }));
}

const pct = (n, of) => `${n} (${((100 * n) / of).toFixed(1)}%)`;

const COLUMNS = [
  ...LEAD_COLUMNS,
  ['dead', (r) => `${(100 * r.dead).toFixed(1)}%`],
  ['MMCS', (r) => r.mmcs.toFixed(4)],
  ['matched mean cos', (r) => r.matched.toFixed(4)],
  ['recovered > 0.9', (r) => pct(r.recovered090, r.features)],
  ['recovered > 0.99', (r) => pct(r.recovered099, r.features)],
  ['best', (r) => (r.best ? 'yes' : '-')],
  ['run', (r) => r.run],
];

/** The rows as a markdown table (by architecture, then L0), or TSV. */
export function formatSyntheticTable(rows, tsv = false) {
  return renderTable(markBest(rows), COLUMNS, tsv);
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(tableMain(process.argv.slice(2), 'synthetic-table.mjs', syntheticRowOf, formatSyntheticTable));
