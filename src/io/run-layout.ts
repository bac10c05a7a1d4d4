import path from 'node:path';
import type { ResolvedRecipe } from '../sae/recipe.js';
import type { ResolvedArchitecture } from '../sae/architecture.js';

/**
 * The on-disk layout of a run directory (format version RUN_FORMAT_VERSION). Every file is
 * written atomically (temporary name + rename), so a reader never sees a half-written file;
 * JSON-lines logs are appended line by line and a reader must tolerate a truncated last line.
 *
 *   <run>/config.json              the exact resolved config (+ formatVersion)
 *   <run>/run.json                 RunInfo: status, backend, shapes, data metadata, scale, steps done
 *   <run>/metrics.jsonl            one MetricsRecord per log interval
 *   <run>/resample.jsonl           one ResampleEvent per resampling event (+ follow-up records)
 *   <run>/checkpoints/step-NNNNNNNN/  checkpoints (see src/io/checkpoint/)
 *   <run>/cfg.json                 SAELens config of the final dictionary
 *   <run>/sae_weights.safetensors  final W_enc [d,m], b_enc [m], W_dec [m,d], b_dec [d], in raw-activation units
 *   <run>/sparsity.safetensors     SAELens' log10 feature density ('sparsity' [m])
 *   <run>/features.arrow           per-feature statistics, one row per feature
 *   <run>/features.json            summary of the statistics (counts, density histogram)
 *   <run>/eval.json                held-out evaluation of the final dictionary (EvalMetrics)
 *   <run>/LOCK                     present while a process trains in this run (pid + host + start time)
 */
export const RUN_FORMAT_VERSION = 1;

export const RUN_FILES = {
  config: 'config.json',
  run: 'run.json',
  metrics: 'metrics.jsonl',
  resample: 'resample.jsonl',
  checkpoints: 'checkpoints',
  saelensCfg: 'cfg.json',
  weights: 'sae_weights.safetensors',
  sparsity: 'sparsity.safetensors',
  features: 'features.arrow',
  featuresSummary: 'features.json',
  eval: 'eval.json',
  lock: 'LOCK',
} as const;

export function runFile(runDir: string, key: keyof typeof RUN_FILES): string {
  return path.join(runDir, RUN_FILES[key]);
}

/** run.json */
export interface RunInfo {
  formatVersion: number;
  status: 'running' | 'finished' | 'interrupted' | 'failed';
  /** Short human reason when status is interrupted/failed. */
  reason?: string;
  createdAt: string;
  updatedAt: string;
  backend: string;
  /** The GPU adapter (webgpu runs): description, vendor, architecture, software or not. */
  device?: string;
  d: number;
  m: number;
  /** Total optimizer steps planned, and completed so far. */
  totalSteps: number;
  step: number;
  tokens: number;
  /** Inputs were multiplied by this before training (1 when normalisation is off); folded back on export. */
  inputScale: number;
  /** Schema metadata of the training data (model, layer, hook, ...). */
  dataMetadata: Record<string, string>;
  /** Training shards as given to the data layer (absolute paths) and rows. */
  trainRows: number;
  evalRows: number;
  seed: number;
  /** The recipe as resolved for this run (penalty, decoder constraint, clip, init norm); absent in runs from before it was recorded. */
  recipe?: ResolvedRecipe;
  /** The architecture as resolved for this run (k, AuxK, ...); absent for relu runs. */
  architecture?: ResolvedArchitecture;
  /**
   * Digests of the configs this run had before `sae train --resume --set train.steps=N` changed
   * its length: its earlier checkpoints carry them and stay valid.
   */
  priorConfigDigests?: string[];
}

/** One line of metrics.jsonl. explainedVariance = 1 - SSE / sum ||x - mean(x)||^2 over the batch(es). */
export interface MetricsRecord {
  step: number;
  tokens: number;
  lr: number;
  l1Coefficient: number;
  loss: number;
  mse: number;
  /** L1 term (before multiplying by the coefficient). */
  l1: number;
  explainedVariance: number;
  l0: number;
  /** Fraction of features that have not fired within the dead window. */
  deadFraction: number;
  tokensPerSecond: number;
  elapsedSeconds: number;
  /** Present on held-out evaluation records. */
  split?: 'train' | 'eval';
}
