import fs from 'node:fs';
import { describeError, ToolkitError } from '../errors.js';
import type { FeatureStats } from '../features/stats.js';
import type { FeatureStatsSummary } from '../features/summary.js';
import type { EvalMetrics } from '../eval/metrics.js';
import { readJsonLines } from '../io/atomic.js';
import { readFeatureStats } from '../features/table.js';
import { openRun } from '../io/run-dir.js';
import { runFile, type MetricsRecord, type RunInfo } from '../io/run-layout.js';
import { buildResampleReport, type ResampleReport } from '../resample/report.js';
import { readKernelUsed, type KernelUsed } from './kernel-used.js';

/** Something the page cannot show, and why (said on the page instead of failing). */
export interface MissingPart {
  file: string;
  why: string;
}

/** Everything a run's report shows, read from its directory (finished, interrupted or still training). */
export interface RunReportData {
  /** Absolute path of the run directory. */
  dir: string;
  info: RunInfo;
  /** The resolved config as the trainer wrote it (without formatVersion). */
  config: unknown;
  /** Training metrics records, by step (held-out records, if any, excluded). */
  metrics: MetricsRecord[];
  evalMetrics: EvalMetrics | null;
  resample: ResampleReport;
  /** The kernel and workers at the newest checkpoint (null: no checkpoint, or none recorded). */
  kernel: KernelUsed | null;
  featuresSummary: FeatureStatsSummary | null;
  features: FeatureStats | null;
  missing: MissingPart[];
  /** Problems met while reading (truncated or unreadable log lines). */
  warnings: string[];
}

function readOptionalJson<T>(file: string, missing: MissingPart[], absentWhy: string): T | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    missing.push({ file, why: code === 'ENOENT' ? absentWhy : `unreadable (${describeError(err)})` });
    return null;
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
    return value as T;
  } catch (err) {
    missing.push({ file, why: `not valid JSON (${describeError(err)}); the file is damaged` });
    return null;
  }
}

function notYet(info: RunInfo, what: string, whenFinished: string): string {
  if (info.status === 'running') return `the run is still training (step ${info.step} of ${info.totalSteps}); its ${what} is written when it finishes`;
  if (info.status !== 'finished') return `the run ${info.status} at step ${info.step} of ${info.totalSteps}, before writing its ${what}; finish it with \`sae train --resume\``;
  return `the run finished but this file (its ${what}) is missing; ${whenFinished}`;
}

const RESTATS = 'recompute it with `sae stats <run> --data <arrow files>`';

/**
 * Read a run directory for the report. Only "not a run" is an error (RunError from openRun);
 * every other absent or damaged file becomes an entry of `missing` that the page shows.
 */
export function gatherRunReport(runDir: string): RunReportData {
  const run = openRun(runDir);
  const { info, dir } = run;
  const missing: MissingPart[] = [];
  const metricsFile = runFile(dir, 'metrics');
  const metrics = readJsonLines<MetricsRecord>(metricsFile)
    .records.filter((r) => r !== null && typeof r === 'object' && typeof r.step === 'number' && r.split !== 'eval')
    .sort((a, b) => a.step - b.step);
  if (metrics.length === 0) {
    const every = (run.config as { train?: { logEvery?: number } } | null)?.train?.logEvery;
    missing.push({
      file: metricsFile,
      why: fs.existsSync(metricsFile)
        ? 'no readable metrics record yet'
        : `no metrics yet: the trainer logs every ${every ?? 'logEvery'} steps (run at step ${info.step})`,
    });
  }
  const resample = buildResampleReport(dir);
  const evalMetrics = readOptionalJson<EvalMetrics>(`${dir}/eval.json`, missing, notYet(info, 'held-out evaluation', '`sae eval <run> --data <arrow files>` prints the same metrics'));
  const featuresSummary = readOptionalJson<FeatureStatsSummary>(runFile(dir, 'featuresSummary'), missing, notYet(info, 'feature summary', RESTATS));
  let features: FeatureStats | null = null;
  const featuresFile = runFile(dir, 'features');
  if (!fs.existsSync(featuresFile)) {
    missing.push({ file: featuresFile, why: notYet(info, 'per-feature statistics, which the feature browser needs', RESTATS) });
  } else {
    try {
      features = readFeatureStats(featuresFile);
    } catch (err) {
      if (!(err instanceof ToolkitError)) throw err;
      missing.push({ file: featuresFile, why: `${err.message}${err.hint ? ` ${err.hint}` : ''}` });
    }
  }
  return { dir, info, config: run.config, metrics, evalMetrics, resample, kernel: readKernelUsed(dir), featuresSummary, features, missing, warnings: resample.warnings };
}
