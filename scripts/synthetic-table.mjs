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
import fs from 'node:fs';
import path from 'node:path';
import { knobOf, readJson, runDirs } from './architecture-table.mjs';

const ORDER = ['relu', 'topk', 'batchtopk', 'jumprelu'];

/** One row from a run directory, or null (with the reason) when it lacks a finished run or its ground-truth scores. */
export function syntheticRowOf(dir) {
  const config = readJson(path.join(dir, 'config.json'));
  const run = readJson(path.join(dir, 'run.json'));
  const ev = readJson(path.join(dir, 'eval.json'));
  if (!config || run?.status !== 'finished' || !ev) return { row: null, why: 'not finished' };
  const gt = readJson(path.join(dir, 'ground-truth.json'))?.metrics?.groundTruth;
  if (!gt) return { row: null, why: 'no ground-truth.json (sae eval RUN --ground-truth GT --json > RUN/ground-truth.json)' };
  const sae = config.sae ?? {};
  const architecture = sae.architecture ?? 'relu';
  const auxK = architecture === 'topk' || architecture === 'batchtopk' ? (sae.auxK?.coefficient === 0 ? 'off' : 'on') : '';
  return {
    row: {
      run: path.basename(dir),
      architecture,
      knob: knobOf(sae),
      auxK,
      steps: run.step,
      l0: ev.l0,
      explainedVariance: ev.explainedVariance,
      dead: ev.deadFraction,
      features: gt.features,
      mmcs: gt.mmcs,
      matched: gt.matchedMeanAbsCosine,
      recovered090: gt.recovered090,
      recovered099: gt.recovered099,
      best: false,
    },
    why: '',
  };
}

/** Marks each architecture's row with the highest MMCS (first in order on a tie). */
export function markBest(rows) {
  const best = new Map();
  for (const r of rows) if (!best.has(r.architecture) || r.mmcs > best.get(r.architecture).mmcs) best.set(r.architecture, r);
  return rows.map((r) => ({ ...r, best: best.get(r.architecture) === r }));
}

const pct = (n, of) => `${n} (${((100 * n) / of).toFixed(1)}%)`;

const COLUMNS = [
  ['architecture', (r) => r.architecture],
  ['knob', (r) => r.knob],
  ['AuxK', (r) => r.auxK || '-'],
  ['steps', (r) => String(r.steps)],
  ['L0', (r) => r.l0.toFixed(2)],
  ['explained variance', (r) => r.explainedVariance.toFixed(4)],
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
  const sorted = markBest(rows).sort((a, b) => ORDER.indexOf(a.architecture) - ORDER.indexOf(b.architecture) || a.l0 - b.l0);
  const cells = sorted.map((r) => COLUMNS.map(([, f]) => f(r)));
  const head = COLUMNS.map(([h]) => h);
  if (tsv) return [head, ...cells].map((c) => c.join('\t')).join('\n') + '\n';
  return [`| ${head.join(' | ')} |`, `|${' --- |'.repeat(head.length)}`, ...cells.map((c) => `| ${c.join(' | ')} |`)].join('\n') + '\n';
}

function main(argv) {
  const tsv = argv.includes('--tsv');
  const dirs = argv.filter((a) => a !== '--tsv');
  if (dirs.length === 0) {
    process.stderr.write('usage: node scripts/synthetic-table.mjs SWEEP_DIR [RUN_DIR ...] [--tsv]\n');
    return 2;
  }
  const rows = [];
  for (const d of dirs) {
    if (!fs.existsSync(d)) {
      process.stderr.write(`${d}: no such directory\n`);
      return 1;
    }
    for (const run of runDirs(d)) {
      const { row, why } = syntheticRowOf(run);
      if (row) rows.push(row);
      else process.stderr.write(`${run}: ${why} (left out)\n`);
    }
  }
  process.stdout.write(formatSyntheticTable(rows, tsv));
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(main(process.argv.slice(2)));
