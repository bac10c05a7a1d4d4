import fs from 'node:fs';
import path from 'node:path';
import { RunError, ToolkitError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { hasFinalDictionary, readFinalWeights } from '../io/run-dir.js';
import { RUN_FILES } from '../io/run-layout.js';
import { initBackend } from '../backend/select.js';
import type { LlamaModel } from '../model/llama.js';
import { loadModel } from '../model/load.js';
import { gatherRunReport, type MissingPart } from './run-data.js';
import { runPageHtml } from './run-page.js';
import { gatherSweepReport, isSweepDir } from './sweep-data.js';
import { sweepPageHtml } from './sweep-page.js';
import { dictionaryTokenEffects, type DictionaryTokenEffects } from './token-effects.js';
import { DEFAULT_REPORT_EXAMPLES } from './report-defaults.js';

/** The report file written into a run or sweep folder unless --out says otherwise. */
export const REPORT_FILE = 'report.html';

export { DEFAULT_REPORT_EXAMPLES } from './report-defaults.js';

export interface ReportOptions {
  /** A run directory or a sweep folder. */
  target: string;
  /** Output file (default: <target>/report.html). */
  out?: string;
  /** Top examples per feature embedded in a run page. */
  examples?: number;
  /** A GGUF model: each feature card then shows the tokens its decoder direction promotes and suppresses. */
  model?: string;
  /** Timestamp printed on the page (tests fix it). */
  generatedAt?: string;
}

export interface RunReportResult {
  kind: 'run';
  run: string;
  out: string;
  bytes: number;
  features: number;
  missing: MissingPart[];
  warnings: string[];
}

export interface SweepReportResult {
  kind: 'sweep';
  sweep: string;
  out: string;
  bytes: number;
  /** One page per run that is a run directory; failures say why. */
  runs: { run: string; out: string | null; error?: string }[];
  warnings: string[];
}

export type ReportResult = RunReportResult | SweepReportResult;

function writePage(out: string, html: string): number {
  const bytes = Buffer.byteLength(html, 'utf8');
  writeFileAtomic(out, html);
  return bytes;
}

function runReport(target: string, out: string, opts: ReportOptions, generatedAt: string, model: LlamaModel | null): RunReportResult {
  const data = gatherRunReport(target);
  let tokenEffects: DictionaryTokenEffects | null = null;
  if (model && data.features) {
    if (hasFinalDictionary(data.dir)) tokenEffects = dictionaryTokenEffects(readFinalWeights(data.dir).weights, model);
    else data.missing.push({ file: path.join(data.dir, RUN_FILES.weights), why: 'no final dictionary yet: the promoted and suppressed tokens (--model) are computed from it once the run finishes' });
  }
  const html = runPageHtml(data, { examples: opts.examples ?? DEFAULT_REPORT_EXAMPLES, generatedAt, tokenEffects });
  return {
    kind: 'run',
    run: data.dir,
    out,
    bytes: writePage(out, html),
    features: data.features?.m ?? 0,
    missing: data.missing,
    warnings: data.warnings,
  };
}

/**
 * Write the report page of a run directory, or of a sweep folder (then also each run's own page,
 * <sweep>/<run>/report.html, which the sweep page links to). Each page is written atomically.
 */
export async function writeReport(opts: ReportOptions): Promise<ReportResult> {
  const target = path.resolve(opts.target);
  const generatedAt = opts.generatedAt ?? new Date().toISOString();
  if (!fs.existsSync(target)) {
    throw new RunError(`${opts.target} does not exist.`, 'Pass a run directory made by `sae train` (e.g. runs/quickstart) or a sweep folder made by `sae sweep`.');
  }
  if (!opts.model) return writeReportWith(target, opts, generatedAt, null);
  await initBackend('auto');
  const model = loadModel(opts.model);
  try {
    return writeReportWith(target, opts, generatedAt, model);
  } finally {
    model.dispose();
  }
}

function writeReportWith(target: string, opts: ReportOptions, generatedAt: string, model: LlamaModel | null): ReportResult {
  const isDir = fs.statSync(target).isDirectory();
  const out = path.resolve(opts.out ?? path.join(target, REPORT_FILE));
  if (isDir && isSweepDir(target)) {
    const sweep = gatherSweepReport(target);
    const runs: SweepReportResult['runs'] = [];
    const links = new Map<string, string>();
    for (const row of sweep.rows) {
      const dir = path.join(target, row.run);
      if (!fs.existsSync(path.join(dir, RUN_FILES.run))) continue;
      const runOut = path.join(dir, REPORT_FILE);
      try {
        runReport(dir, runOut, opts, generatedAt, model);
        runs.push({ run: row.run, out: runOut });
        links.set(row.run, path.relative(path.dirname(out), runOut).split(path.sep).join('/'));
      } catch (err) {
        if (!(err instanceof ToolkitError)) throw err;
        runs.push({ run: row.run, out: null, error: err.message });
      }
    }
    const bytes = writePage(out, sweepPageHtml(sweep, { generatedAt, links }));
    return { kind: 'sweep', sweep: sweep.dir, out, bytes, runs, warnings: sweep.warnings };
  }
  if (isDir && !fs.existsSync(path.join(target, RUN_FILES.run)) && !fs.existsSync(path.join(target, RUN_FILES.config))) {
    throw new RunError(
      `${opts.target} is neither a run directory (no ${RUN_FILES.run}) nor a sweep folder (no sweep.json).`,
      'Pass a run folder made by `sae train` (e.g. runs/quickstart) or a sweep folder made by `sae sweep`.',
    );
  }
  return runReport(target, out, opts, generatedAt, model);
}
