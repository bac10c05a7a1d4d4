import { checkBackendErrors, initBackend, type BackendChoice } from '../backend/select.js';
import { DataSchema, OutputSchema } from '../config/schema.js';
import { readBlocks, scanDataset } from '../data/dataset.js';
import { loadGroundTruth, type GroundTruth } from '../data/synth/ground-truth.js';
import type { ColumnOptions } from '../data/types.js';
import { DataError } from '../errors.js';
import { openRun } from '../io/run-dir.js';
import { readRunDictionary } from '../io/run-weights.js';
import { SaeParams, type SaeWeights } from '../sae/params.js';
import { evaluateSae } from './evaluate-sae.js';
import type { EvalMetrics } from './metrics.js';
import { scoreGroundTruth, type GroundTruthScores } from './mmcs.js';
import { measureSelectivity, type SelectivityReport } from './selectivity.js';

/** `sae eval`: metrics of a run's final dictionary on any activation dump. */
export interface EvalRunOptions {
  run: string;
  /** Arrow files, directories or globs. */
  data: string[];
  /** Ground-truth dictionary (.safetensors with W_true, or .arrow with a direction column). */
  groundTruth?: string;
  /** Also measure token selectivity of features vs basis directions (needs token ids). */
  selectivity?: boolean;
  selectivityTopK?: number;
  maxRows?: number;
  /** Default: the run config's output.denseThreshold. */
  denseThreshold?: number;
  backend?: BackendChoice;
  /** Activation column of the data (default: the run config's data.column). */
  column?: string;
}

export interface EvalReport {
  run: string;
  data: string[];
  backend: string;
  seconds: number;
  metrics: EvalMetrics;
  selectivity?: SelectivityReport;
  /** The step of the dictionary used: the final one, or the newest checkpoint of an unfinished run (note says so). */
  source: { step: number; final: boolean; note: string | null };
}

/** Columns and dense threshold from a run's config, falling back to the schema defaults. */
function runDefaults(config: unknown): { cols: ColumnOptions; denseThreshold: number } {
  const c = (config ?? {}) as { output?: unknown; data?: { column?: unknown; columns?: unknown } };
  const pick = DataSchema.pick({ column: true, columns: true });
  const data = pick.safeParse({ column: c.data?.column, columns: c.data?.columns });
  const output = OutputSchema.safeParse(c.output ?? {});
  return {
    cols: data.success ? data.data : pick.parse({}),
    denseThreshold: (output.success ? output.data : OutputSchema.parse({})).denseThreshold,
  };
}

/** Ground-truth scores of a dictionary, checking the widths agree. */
export function scoreAgainst(gt: GroundTruth, w: SaeWeights): GroundTruthScores {
  if (gt.d !== w.d) {
    throw new DataError(
      `${gt.source}: ground-truth directions have width ${gt.d}, but the dictionary has width ${w.d}`,
      'Pass the ground truth written by the same `sae synth` run as the training data.',
    );
  }
  return scoreGroundTruth(gt.directions, gt.features, w.W_dec, w.m, w.d);
}

export async function evaluateRun(opts: EvalRunOptions): Promise<EvalReport> {
  const started = Date.now();
  const handle = openRun(opts.run);
  const dict = readRunDictionary(opts.run);
  const { weights } = dict;
  const defaults = runDefaults(handle.config);
  const cols: ColumnOptions = { ...defaults.cols, ...(opts.column ? { column: opts.column } : {}) };
  const { denseThreshold } = defaults;
  const gt = opts.groundTruth ? loadGroundTruth(opts.groundTruth) : null;
  const ds = await scanDataset(opts.data, cols);
  if (ds.d !== weights.d) {
    throw new DataError(
      `${ds.shards[0]?.path}: activations have width ${ds.d}, but the dictionary of ${opts.run} has width ${weights.d}`,
      'Evaluate on activations from the model layer the SAE was trained on.',
    );
  }
  const groundTruth = gt ? scoreAgainst(gt, weights) : undefined;
  const backend = await initBackend(opts.backend ?? 'auto');
  const sae = new SaeParams(weights);
  try {
    const metrics = await evaluateSae(sae, readBlocks(ds, cols), {
      denseThreshold: opts.denseThreshold ?? denseThreshold,
      ...(opts.maxRows !== undefined ? { maxRows: opts.maxRows } : {}),
    });
    if (groundTruth) metrics.groundTruth = groundTruth;
    const selectivity = opts.selectivity
      ? await measureSelectivity(sae, readBlocks(ds, cols), {
          tokenColumn: cols.columns.tokenId,
          ...(opts.selectivityTopK !== undefined ? { topK: opts.selectivityTopK } : {}),
          ...(opts.maxRows !== undefined ? { maxRows: opts.maxRows } : {}),
        })
      : undefined;
    checkBackendErrors('evaluation');
    return {
      run: handle.dir,
      data: ds.shards.map((s) => s.path),
      backend: backend.name,
      seconds: (Date.now() - started) / 1000,
      metrics,
      source: { step: dict.step, final: dict.final, note: dict.note },
      ...(selectivity ? { selectivity } : {}),
    };
  } finally {
    sae.dispose();
  }
}
