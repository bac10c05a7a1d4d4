#!/usr/bin/env node
// The README's architecture table ("Architectures at equal L0"), from the run directories of a
// sweep (or any run directories): regenerates it from what the runs wrote, so the table is the
// runs' own output and not copied by hand.
//
//   node scripts/architecture-table.mjs SWEEP_DIR [RUN_DIR ...] [--tsv]
//
// Per run: its config.json (sae.architecture and the knob: sae.l1, or sae.k; AuxK on or off),
// run.json (steps), eval.json (L0, explained variance, MSE, dead on the held-out rows) and the
// downstream metrics (ceLossScore, KL, delta CE): eval.json's `downstream` (a run with eval.model),
// else downstream.json beside it, the output of `sae eval RUN --model ... --json > RUN/downstream.json`.
// Rows sorted by architecture, then L0. Markdown by default; --tsv for a plot-ready file.
import fs from 'node:fs';
import path from 'node:path';

const ORDER = ['relu', 'topk', 'batchtopk', 'jumprelu'];

export function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Run directories: a sweep folder's runs (its plan's order, then the runs of earlier sweeps into the
 * same folder, as `sae sweep` tabulates them), or the directory itself when it is a run.
 */
export function runDirs(dir) {
  if (fs.existsSync(path.join(dir, 'run.json'))) return [dir];
  const planned = readJson(path.join(dir, 'sweep-plan.json'))?.runs ?? [];
  const present = fs.readdirSync(dir).filter((n) => fs.existsSync(path.join(dir, n, 'run.json'))).sort();
  return [...planned, ...present.filter((n) => !planned.includes(n))].map((n) => path.join(dir, n));
}

/**
 * The sparsity knob of a run's config.sae: relu `l1 2`, topk / batchtopk `k 16`, jumprelu its
 * penalty and what sets it (`target-l0 32`: sae.jumprelu.targetL0; `step 0.02`: l0Coefficient),
 * with the schema's defaults where the run's config.json leaves them out; and how the thresholds
 * started when the run set it (a fixed threshold, or 'auto' at another initialL0 than the default).
 */
export function knobOf(sae) {
  const architecture = sae.architecture ?? 'relu';
  if (architecture === 'relu') return `l1 ${sae.l1}`;
  if (architecture !== 'jumprelu') return `k ${sae.k ?? 32}`;
  const j = sae.jumprelu ?? {};
  const penalty = j.penalty ?? 'step';
  const knob = penalty === 'target-l0' ? `target-l0 ${j.targetL0 ?? 20}` : `${penalty} ${j.l0Coefficient ?? 0.02}`;
  if (j.initialThreshold !== undefined && j.initialThreshold !== 'auto') return `${knob}, threshold from ${j.initialThreshold}`;
  return j.initialL0 === undefined ? knob : `${knob}, from L0 ${j.initialL0}`;
}

/**
 * What every table row has, from a finished run's config.json, run.json and eval.json (held-out
 * L0, explained variance, MSE, dead): { row, dir files }, or null when the run has not finished.
 */
export function runBasics(dir) {
  const config = readJson(path.join(dir, 'config.json'));
  const run = readJson(path.join(dir, 'run.json'));
  const ev = readJson(path.join(dir, 'eval.json'));
  if (!config || run?.status !== 'finished' || !ev) return null;
  const sae = config.sae ?? {};
  const architecture = sae.architecture ?? 'relu';
  const auxK = architecture === 'topk' || architecture === 'batchtopk' ? (sae.auxK?.coefficient === 0 ? 'off' : 'on') : '';
  return {
    ev,
    row: {
      run: path.basename(dir),
      architecture,
      knob: knobOf(sae),
      auxK,
      steps: run.step,
      l0: ev.l0,
      explainedVariance: ev.explainedVariance,
      mse: ev.mse,
      dead: ev.deadFraction,
    },
  };
}

/** One table row from a run directory, or null when the run has not finished. */
export function rowOf(dir) {
  const basics = runBasics(dir);
  if (!basics) return null;
  // eval.json holds it when the run had eval.model set; else `sae eval --model --json` saved beside.
  const down = basics.ev.downstream ?? readJson(path.join(dir, 'downstream.json'));
  return {
    ...basics.row,
    ceLossScore: down?.ceLossScore ?? null,
    ceLossScoreMean: down?.ceLossScoreMean ?? null,
    kl: down?.klSae ?? null,
    deltaCe: down?.deltaCe ?? null,
  };
}

/** The columns every table starts with. */
export const LEAD_COLUMNS = [
  ['architecture', (r) => r.architecture],
  ['knob', (r) => r.knob],
  ['AuxK', (r) => r.auxK || '-'],
  ['steps', (r) => String(r.steps)],
  ['L0', (r) => r.l0.toFixed(2)],
  ['explained variance', (r) => r.explainedVariance.toFixed(4)],
];

const COLUMNS = [
  ...LEAD_COLUMNS,
  ['MSE', (r) => r.mse.toFixed(3)],
  ['dead', (r) => `${(100 * r.dead).toFixed(1)}%`],
  ['ceLossScore', (r) => (r.ceLossScore === null ? '-' : r.ceLossScore.toFixed(4))],
  ['ceLossScore (mean baseline)', (r) => (r.ceLossScoreMean === null ? '-' : r.ceLossScoreMean.toFixed(4))],
  ['KL(clean‖SAE)', (r) => (r.kl === null ? '-' : r.kl.toFixed(4))],
  ['delta CE', (r) => (r.deltaCe === null ? '-' : r.deltaCe.toFixed(4))],
  ['run', (r) => r.run],
];

/** Rows sorted by architecture, then L0, in `columns` ([header, cell(row)] pairs): markdown, or TSV. */
export function renderTable(rows, columns, tsv = false) {
  const sorted = [...rows].sort((a, b) => ORDER.indexOf(a.architecture) - ORDER.indexOf(b.architecture) || a.l0 - b.l0);
  const cells = sorted.map((r) => columns.map(([, f]) => f(r)));
  const head = columns.map(([h]) => h);
  if (tsv) return [head, ...cells].map((c) => c.join('\t')).join('\n') + '\n';
  return [`| ${head.join(' | ')} |`, `|${' --- |'.repeat(head.length)}`, ...cells.map((c) => `| ${c.join(' | ')} |`)].join('\n') + '\n';
}

/** The rows as a markdown table, or TSV. */
export function formatTable(rows, tsv = false) {
  return renderTable(rows, COLUMNS, tsv);
}

/**
 * A table script's command line: `SCRIPT DIR... [--tsv]`; rowOf(runDir) gives { row } or
 * { row: null, why }, format(rows, tsv) the text. Returns the exit code.
 */
export function tableMain(argv, script, rowOf, format) {
  const tsv = argv.includes('--tsv');
  const dirs = argv.filter((a) => a !== '--tsv');
  if (dirs.length === 0) {
    process.stderr.write(`usage: node scripts/${script} SWEEP_DIR [RUN_DIR ...] [--tsv]\n`);
    return 2;
  }
  const rows = [];
  for (const d of dirs) {
    if (!fs.existsSync(d)) {
      process.stderr.write(`${d}: no such directory\n`);
      return 1;
    }
    for (const run of runDirs(d)) {
      const { row, why } = rowOf(run);
      if (row) rows.push(row);
      else process.stderr.write(`${run}: ${why} (left out)\n`);
    }
  }
  process.stdout.write(format(rows, tsv));
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exit(tableMain(process.argv.slice(2), 'architecture-table.mjs', (dir) => ({ row: rowOf(dir), why: 'not finished' }), formatTable));
}
