import { checkBackendErrors, initBackend, type BackendChoice } from '../backend/select.js';
import { DataSchema, OutputSchema } from '../config/schema.js';
import { readBlocks, scanDataset } from '../data/dataset.js';
import type { ColumnOptions } from '../data/types.js';
import fs from 'node:fs';
import { DataError, RunError } from '../errors.js';
import { writeFeatureStatsFiles } from './table.js';
import { openRun } from '../io/run-dir.js';
import { readRunDictionary } from '../io/run-weights.js';
import { RUN_FILES, runFile } from '../io/run-layout.js';
import { computeFeatureStats } from './stats.js';
import { readResampleHistory } from './resample-history.js';
import { summarizeFeatureStats, type FeatureStatsSummary } from './summary.js';

/** `sae stats`: statistics of a run's final dictionary over any activation dump. */
export interface RunStatsOptions {
  run: string;
  /** Arrow files, directories or globs (as for training data). */
  data: string[];
  /** Write the table here (and the summary beside it, .json) instead of into the run. */
  out?: string;
  /** Settings; default: the run config's output section (topK, contextTokens, denseThreshold). */
  topK?: number;
  contextTokens?: number;
  denseThreshold?: number;
  deadThreshold?: number;
  maxRows?: number;
  /** Activation column; default: the run config's data.column. */
  column?: string;
  backend?: BackendChoice;
  /** Without `out`: replace the run's own features.arrow/features.json (refused otherwise). */
  force?: boolean;
  onProgress?: (rows: number, totalRows: number) => void;
}

export interface RunStatsResult {
  run: string;
  data: string[];
  arrowPath: string;
  jsonPath: string;
  backend: string;
  seconds: number;
  summary: FeatureStatsSummary;
  /** The step of the dictionary used: the final one, or the newest checkpoint of an unfinished run (note says so). */
  source: { step: number; final: boolean; note: string | null };
}

/** The summary path beside a table path: x.arrow -> x.json, anything else -> <path>.json. */
export function summaryPathFor(arrowPath: string): string {
  return arrowPath.endsWith('.arrow') ? `${arrowPath.slice(0, -'.arrow'.length)}.json` : `${arrowPath}.json`;
}

/** Settings and columns from the run's config, falling back to the schema defaults. */
function runDefaults(config: unknown): { output: ReturnType<typeof OutputSchema.parse>; cols: ColumnOptions } {
  const c = (config ?? {}) as { output?: unknown; data?: { column?: unknown; columns?: unknown } };
  const output = OutputSchema.safeParse(c.output ?? {});
  const data = DataSchema.pick({ column: true, columns: true }).safeParse({ column: c.data?.column, columns: c.data?.columns });
  const cols = data.success ? data.data : DataSchema.pick({ column: true, columns: true }).parse({});
  return { output: output.success ? output.data : OutputSchema.parse({}), cols };
}

export async function computeRunFeatureStats(opts: RunStatsOptions): Promise<RunStatsResult> {
  const started = Date.now();
  const handle = openRun(opts.run);
  if (opts.out === undefined && !opts.force && fs.existsSync(runFile(opts.run, 'features'))) {
    throw new RunError(
      `${opts.run} already has feature statistics (${RUN_FILES.features}, ${RUN_FILES.featuresSummary}); without --out, sae stats would replace them.`,
      `Write the new ones beside them with --out FILE.arrow (then \`sae features FILE.arrow\`), or replace them with --force.`,
    );
  }
  const dict = readRunDictionary(opts.run);
  const { weights } = dict;
  const defaults = runDefaults(handle.config);
  const cols: ColumnOptions = { ...defaults.cols, ...(opts.column ? { column: opts.column } : {}) };
  const ds = await scanDataset(opts.data, cols);
  if (ds.d !== weights.d) {
    throw new DataError(
      `${opts.data.join(', ')}: activation width ${ds.d}, but the dictionary in ${opts.run} has input width ${weights.d}.`,
      'Compute statistics on activations from the model, layer and hook the SAE was trained on.',
    );
  }
  const backend = await initBackend(opts.backend ?? 'auto');
  const totalRows = Math.min(ds.rows, opts.maxRows ?? Infinity);
  const stats = await computeFeatureStats(weights, () => readBlocks(ds, cols), {
    topK: opts.topK ?? defaults.output.topK,
    contextTokens: opts.contextTokens ?? defaults.output.contextTokens,
    denseThreshold: opts.denseThreshold ?? defaults.output.denseThreshold,
    deadThreshold: opts.deadThreshold ?? 0,
    ...(opts.maxRows !== undefined ? { maxRows: opts.maxRows } : {}),
    resampleHistory: readResampleHistory(opts.run),
    ...(opts.onProgress ? { onProgress: (rows: number) => opts.onProgress!(rows, totalRows) } : {}),
  });
  checkBackendErrors('feature statistics');
  const arrowPath = opts.out ?? runFile(opts.run, 'features');
  const jsonPath = opts.out ? summaryPathFor(opts.out) : runFile(opts.run, 'featuresSummary');
  writeFeatureStatsFiles(arrowPath, jsonPath, stats);
  return {
    run: opts.run,
    data: ds.shards.map((s) => s.path),
    arrowPath,
    jsonPath,
    backend: backend.name,
    seconds: (Date.now() - started) / 1000,
    summary: summarizeFeatureStats(stats),
    source: { step: dict.step, final: dict.final, note: dict.note },
  };
}
