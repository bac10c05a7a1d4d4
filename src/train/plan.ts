import path from 'node:path';
import type { Config } from '../config/schema.js';
import { scanDataset } from '../data/dataset.js';
import { BatchStream } from '../data/batch-stream.js';
import { readBlocks } from '../data/dataset.js';
import { readHeldOut } from '../data/held-out.js';
import type { Batch, ColumnOptions, DatasetInfo } from '../data/types.js';
import { DataError } from '../errors.js';
import { trainingRowCount } from '../data/split.js';

/** Everything about a run that follows from the config and the data, before any tensor exists. */
export interface RunPlan {
  cols: ColumnOptions;
  train: DatasetInfo;
  /** Held-out split by rows (when no separate eval files are given). */
  split: { fraction: number; seed: number } | undefined;
  eval: DatasetInfo | null;
  d: number;
  m: number;
  /** Approximate number of training-side rows per epoch (exact without a split). */
  trainRows: number;
  evalRows: number;
  totalSteps: number;
  /** Schema metadata of the training data (model, layer, hook, ...). */
  metadata: Record<string, string>;
}

export function columnOptions(cfg: Config): ColumnOptions {
  return { column: cfg.data.column, columns: cfg.data.columns };
}

/** Scan the inputs and derive shapes and the run length. Throws DataError on bad input. */
export async function planRun(cfg: Config): Promise<RunPlan> {
  const cols = columnOptions(cfg);
  const train = await scanDataset(cfg.data.train, cols);
  const evalDs = cfg.data.eval ? await scanDataset(cfg.data.eval, cols) : null;
  if (evalDs && evalDs.d !== train.d) {
    throw new DataError(
      `data.eval has activations of width ${evalDs.d} (${evalDs.shards[0]?.path}), but data.train has width ${train.d} (${train.shards[0]?.path})`,
      'Training and held-out data must come from the same model layer.',
    );
  }
  const split = evalDs || cfg.data.evalFraction === 0 ? undefined : { fraction: cfg.data.evalFraction, seed: cfg.train.seed };
  const d = train.d;
  const m = cfg.sae.width ?? Math.max(1, Math.round(cfg.sae.expansion * d));
  const trainRows = trainingRowCount(train.rows, split, cfg.data.maxRows);
  const evalRows = evalDs ? evalDs.rows : split ? train.rows - trainingRowCount(train.rows, split) : train.rows;
  if (evalRows === 0) {
    throw new DataError(
      `${train.shards[0]?.path}: no held-out rows for evaluation (data.evalFraction = ${cfg.data.evalFraction} of ${train.rows} rows selects none)`,
      'Give held-out files in data.eval, or raise data.evalFraction.',
    );
  }
  if (cfg.train.steps === undefined && trainRows < cfg.train.batchSize) {
    throw new DataError(
      `${train.shards.map((s) => path.basename(s.path)).join(', ')}: ${trainRows} training rows, fewer than one batch (train.batchSize = ${cfg.train.batchSize})`,
      'Lower train.batchSize, add data, or set train.steps to loop over the data.',
    );
  }
  const totalSteps = cfg.train.steps ?? defaultSteps(cfg.data.epochs * trainRows, cfg.train.minTokens, cfg.train.batchSize);
  return { cols, train, split, eval: evalDs, d, m, trainRows, evalRows, totalSteps, metadata: train.metadata };
}

/**
 * Steps of a run without train.steps: the epochs' rows, but at least `minTokens` tokens, so that a
 * small dump is repeated into a real run instead of a few steps (issue 11: a minimal config on
 * the 8k-row fixture trained "2 steps of 4096" and ended at explained variance -10).
 */
export function defaultSteps(epochRows: number, minTokens: number, batchSize: number): number {
  return Math.max(1, Math.floor(epochRows / batchSize), Math.ceil(minTokens / batchSize));
}

/** The training batch stream for a plan, starting at batch `startBatch` (resume): activations only, no per-row metadata. */
export function trainingStream(cfg: Config, plan: RunPlan, startBatch = 0, onWarning?: (m: string) => void): BatchStream {
  return new BatchStream(plan.train, { ...plan.cols, meta: false }, {
    batchSize: cfg.train.batchSize,
    shuffleBuffer: cfg.data.shuffleBuffer,
    seed: cfg.train.seed,
    // Without train.steps the data is read data.epochs times, unless minTokens asks for more.
    epochs: cfg.train.steps !== undefined || plan.totalSteps * cfg.train.batchSize > cfg.data.epochs * plan.trainRows ? Infinity : cfg.data.epochs,
    ...(plan.split ? { split: plan.split } : {}),
    ...(cfg.data.maxRows !== undefined ? { maxRows: cfg.data.maxRows } : {}),
    startBatch,
    skipBadShards: cfg.data.skipBadShards,
    ...(onWarning ? { onWarning } : {}),
    // The loop is done with each batch (its tensor disposed) before it asks for the next (loop.ts);
    // the rows stay in the stream's pool, where the step's worker threads copy them (StepInput).
    pooled: true,
  });
}

/** A factory of held-out batches in file order (separate eval files, or the held-out split). */
export function heldOutSource(plan: RunPlan): () => AsyncIterable<Batch> {
  if (plan.eval) {
    const ds = plan.eval;
    return () => readBlocks(ds, plan.cols);
  }
  const split = plan.split;
  if (!split) return () => readBlocks(plan.train, plan.cols);
  return () => readHeldOut(plan.train, plan.cols, split);
}
