import fs from 'node:fs';
import path from 'node:path';
import { describeError, RunError } from '../errors.js';
import type { EvalMetrics } from '../eval/metrics.js';
import { runFile, type RunInfo } from '../io/run-layout.js';
import { gridPoints, parseGridAxis } from '../sweep/grid.js';
import type { SweepRow } from '../sweep/table.js';

/** The files that mark a `sae sweep` folder. */
export const SWEEP_FILES = { table: 'sweep.json', plan: 'sweep-plan.json' } as const;

export interface SweepReportData {
  /** Absolute path of the sweep folder. */
  dir: string;
  config: string | null;
  grid: string[];
  keys: string[];
  rows: SweepRow[];
  /** Where the rows came from: the sweep's table, or (sweep still running) each run's files. */
  source: 'sweep.json' | 'runs';
  warnings: string[];
}

export function isSweepDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, SWEEP_FILES.table)) || fs.existsSync(path.join(dir, SWEEP_FILES.plan));
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new RunError(`${file}: unreadable or not valid JSON (${describeError(err)}).`, 'Run the same `sae sweep` command again to rewrite it.');
  }
}

/** A row for a planned run from its own files, for a sweep that has not written sweep.json yet. */
function rowFromRun(dir: string, name: string, params: Record<string, string>): SweepRow {
  const info = readJson(runFile(path.join(dir, name), 'run')) as RunInfo | null;
  const config = readJson(runFile(path.join(dir, name), 'config')) as { sae?: { l1?: number } } | null;
  const ev = readJson(path.join(dir, name, 'eval.json')) as EvalMetrics | null;
  const finished = info?.status === 'finished' && ev !== null;
  return {
    run: name,
    status: finished ? 'finished' : info?.status === 'interrupted' ? 'interrupted' : info ? 'failed' : 'missing',
    params,
    l1: config?.sae?.l1 ?? null,
    width: info?.m ?? null,
    expansion: info ? info.m / info.d : null,
    l0: finished ? ev.l0 : null,
    explainedVariance: finished ? ev.explainedVariance : null,
    deadFraction: finished ? ev.deadFraction : null,
    mse: finished ? ev.mse : null,
    mmcs: null,
  };
}

/** Read a sweep folder: sweep.json when the sweep has tabulated, else its plan and each run's files. */
export function gatherSweepReport(sweepDir: string): SweepReportData {
  const dir = path.resolve(sweepDir);
  const table = readJson(path.join(dir, SWEEP_FILES.table)) as { config?: string; grid?: string[]; keys?: string[]; rows?: SweepRow[] } | null;
  if (table && Array.isArray(table.rows)) {
    return { dir, config: table.config ?? null, grid: table.grid ?? [], keys: table.keys ?? [], rows: table.rows, source: 'sweep.json', warnings: [] };
  }
  const plan = readJson(path.join(dir, SWEEP_FILES.plan)) as { config?: string; grid?: string[]; runs?: string[]; points?: { name: string; params: Record<string, string> }[] } | null;
  if (!plan || !Array.isArray(plan.runs)) {
    throw new RunError(`${dir}: ${SWEEP_FILES.table} and ${SWEEP_FILES.plan} are missing or hold no runs.`, 'Pass a sweep folder made by `sae sweep`.');
  }
  // The grid re-expanded gives each run's name and its settings, exactly as the sweep named them.
  // A plan that lists its points (grid files) says so directly.
  const axes = (plan.grid ?? []).map(parseGridAxis);
  const listed = Array.isArray(plan.points) ? plan.points : gridPoints(axes);
  const params = new Map(listed.map((pt) => [pt.name, pt.params]));
  const keys = [...new Set(listed.flatMap((pt) => Object.keys(pt.params)))];
  return {
    dir,
    config: plan.config ?? null,
    grid: plan.grid ?? [],
    keys,
    rows: plan.runs.map((name) => rowFromRun(dir, name, params.get(name) ?? {})),
    source: 'runs',
    warnings: [`${SWEEP_FILES.table} is not written yet (the sweep is running or was stopped): rows read from each run's files, without MMCS`],
  };
}
