import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import { loadGroundTruth, type GroundTruth } from '../data/synth/ground-truth.js';
import { ConfigError, describeError, RunError } from '../errors.js';
import { scoreAgainst } from '../eval/evaluate.js';
import type { EvalMetrics } from '../eval/metrics.js';
import { fsError, writeFileAtomic, writeJsonAtomic } from '../io/atomic.js';
import { listCheckpoints } from '../io/checkpoint/checkpoint.js';
import { readFinalWeights } from '../io/run-dir.js';
import { runFile, type RunInfo } from '../io/run-layout.js';
import { runTrainChild } from './child.js';
import { earlierPoints } from './history.js';
import { gridPoints, parseGridAxis, workersPerJobSet, type GridPoint } from './grid.js';
import { groupPoints, readGridFile } from './grid-file.js';
import { sweepCsv, type SweepRow } from './table.js';

export interface SweepOptions {
  /** Base config file. */
  config: string;
  /** `key=v1,v2,...` expressions (with gridFile: combined with every group). */
  grid: string[];
  /** A grid file (grid-file.ts): a union of grids, each with its own axes and overrides. */
  gridFile?: string;
  /** Sweep folder (default: <output.dir of the config>/<config name>-sweep). */
  out?: string;
  /** Runs trained at once (default 1). */
  jobs?: number;
  /** Ground-truth dictionary: adds MMCS per run. */
  groundTruth?: string;
  /** Extra `--set` overrides applied to every run (before the grid values). */
  sets?: string[];
  onLog?: (line: string) => void;
}

export interface SweepResult {
  dir: string;
  keys: string[];
  rows: SweepRow[];
  csvPath: string;
  jsonPath: string;
  /** Runs trained (or resumed) by this invocation; the rest were already finished. */
  trained: string[];
}

const BIN = fileURLToPath(new URL('../../bin/sae.js', import.meta.url));

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

function isFinished(dir: string): boolean {
  return readJson<RunInfo>(runFile(dir, 'run'))?.status === 'finished' && fs.existsSync(runFile(dir, 'eval'));
}

/** The table row of a run from its config.json, run.json and eval.json (+ MMCS against gt). */
function rowOf(point: GridPoint, dir: string, gt: GroundTruth | null, error: string | undefined): SweepRow {
  const info = readJson<RunInfo>(runFile(dir, 'run'));
  const config = readJson<{ sae?: { l1?: number; expansion?: number } }>(runFile(dir, 'config'));
  const ev = readJson<EvalMetrics>(runFile(dir, 'eval'));
  const finished = info?.status === 'finished' && ev !== null;
  let mmcs: number | null = null;
  if (finished && gt) {
    try {
      mmcs = scoreAgainst(gt, readFinalWeights(dir).weights).mmcs;
    } catch (err) {
      error = `ground truth: ${describeError(err)}`;
    }
  }
  return {
    run: point.name,
    status: finished ? 'finished' : info?.status === 'interrupted' ? 'interrupted' : error ? 'failed' : 'missing',
    params: point.params,
    l1: config?.sae?.l1 ?? null,
    width: info?.m ?? null,
    expansion: info ? info.m / info.d : null,
    l0: finished ? ev!.l0 : null,
    explainedVariance: finished ? ev!.explainedVariance : null,
    deadFraction: finished ? ev!.deadFraction : null,
    mse: finished ? ev!.mse : null,
    mmcs,
    ...(error && !finished ? { error } : {}),
  };
}

/**
 * Train every grid point as its own run (`sae train` child processes, `jobs` at a time) in one
 * sweep folder, then tabulate them into sweep.csv and sweep.json. Re-running the same command
 * skips finished runs, resumes interrupted ones from their newest checkpoint, and restarts the
 * rest, so an interrupted sweep continues where it stopped. Runs of earlier sweeps into the same
 * folder with another grid stay in the table.
 */
export async function runSweep(opts: SweepOptions): Promise<SweepResult> {
  const log = opts.onLog ?? (() => {});
  const axes = opts.grid.map(parseGridAxis);
  if (axes.length === 0 && !opts.gridFile) throw new ConfigError('sweep: nothing to sweep', 'Give --grid section.field=v1,v2 (repeatable) or --grid-file FILE.');
  const { points, keys: sweptKeys } = opts.gridFile ? groupPoints(readGridFile(opts.gridFile), axes) : { points: gridPoints(axes), keys: axes.map((a) => a.key) };
  const base = path.resolve(opts.config);
  const given = opts.sets ?? [];
  const jobs = Math.max(1, Math.min(opts.jobs ?? 1, points.length));
  const share = workersPerJobSet(os.availableParallelism(), jobs, loadConfig(base, given).config.train.workers, points);
  if (share.length) log(`sweep: ${jobs} runs at a time, each with ${share[0]!.split('=')[1]} worker thread(s)`);
  const sets = [...given, ...share];
  // Validate every combination up front: a typo in a key fails now, not after hours of training.
  const { config } = loadConfig(base, sets);
  for (const p of points) loadConfig(base, [...sets, ...p.sets]);
  const dir = path.resolve(opts.out ?? path.join(config.output.dir, `${path.basename(base, '.json')}-sweep`));
  const gt = opts.groundTruth ? loadGroundTruth(opts.groundTruth) : null;
  try {
    fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  } catch (err) {
    throw fsError(err, dir, 'create the sweep folder');
  }
  const gridFile = opts.gridFile ? path.resolve(opts.gridFile) : null;
  // points: each run's swept values (a grid file's groups cannot be re-expanded from `grid` alone).
  writeJsonAtomic(path.join(dir, 'sweep-plan.json'), { config: base, grid: opts.grid, gridFile, sets, runs: points.map((p) => p.name), points: points.map((p) => ({ name: p.name, params: p.params })) });

  const todo = points.filter((p) => !isFinished(path.join(dir, p.name)));
  if (points.length > todo.length) log(`sweep: ${points.length - todo.length} of ${points.length} runs already finished`);
  const errors = new Map<string, string>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < todo.length) {
      const p = todo[next++]!;
      const runDir = path.join(dir, p.name);
      const resume = fs.existsSync(runDir) && listCheckpoints(runDir).length > 0;
      const args = resume
        ? ['train', '--resume', runDir]
        : ['train', '--config', base, ...[...sets, ...p.sets].flatMap((s) => ['--set', s]), '--out', runDir, '--force'];
      log(`sweep: ${resume ? 'resuming' : 'starting'} ${p.name}`);
      const res = await runTrainChild(process.execPath, [BIN, ...args], path.join(dir, 'logs', `${p.name}.log`));
      if (res.code === 0) log(`sweep: finished ${p.name} (${res.seconds.toFixed(0)} s)`);
      else {
        errors.set(p.name, res.lastError ?? `exit code ${res.code}`);
        log(`sweep: ${p.name} failed (exit ${res.code}): ${res.lastError ?? 'see its log'}; log: ${path.join(dir, 'logs', `${p.name}.log`)}`);
        if (res.signal === 'SIGINT' || res.signal === 'SIGTERM' || res.code === 130 || res.code === 143) {
          next = todo.length; // interrupted: stop launching; a re-run resumes
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, todo.length)) }, worker));

  const earlier = earlierPoints(dir, points, sweptKeys);
  const rows = [...points, ...earlier.points].map((p) => rowOf(p, path.join(dir, p.name), gt, errors.get(p.name)));
  const keys = earlier.keys;
  const csvPath = path.join(dir, 'sweep.csv');
  const jsonPath = path.join(dir, 'sweep.json');
  writeFileAtomic(csvPath, sweepCsv(rows, keys));
  writeJsonAtomic(jsonPath, { config: base, grid: opts.grid, gridFile, groundTruth: gt?.source ?? null, keys, rows });
  const failed = rows.slice(0, points.length).filter((r) => r.status !== 'finished');
  if (failed.length === points.length && points.length > 0) {
    throw new RunError(
      `sweep: none of the ${points.length} runs finished (first error: ${failed[0]!.error ?? 'unknown'})`,
      `Read the run logs in ${path.join(dir, 'logs')}; fix the config and run the same command again.`,
    );
  }
  return { dir, keys, rows, csvPath, jsonPath, trained: todo.map((p) => p.name) };
}
