import { foldInputScale } from '../sae/init.js';
import { inferenceActivation } from '../sae/architecture.js';
import type { SaeWeights } from '../sae/params.js';
import { loadLatestCheckpoint } from './checkpoint/checkpoint.js';
import { hasFinalDictionary, readFinalWeights, readRunInfo } from './run-dir.js';

/** The dictionary a command works on, and where it came from. */
export interface RunDictionary {
  /** In raw-activation units (any input scaling folded in). */
  weights: SaeWeights;
  log10Density: Float32Array | null;
  /** The training step these weights are from. */
  step: number;
  /** True for the run's final dictionary, false for its newest good checkpoint. */
  final: boolean;
  /** Says which checkpoint is used when it is not the final dictionary (for the log), else null. */
  note: string | null;
}

/**
 * A run's final dictionary when it finished; otherwise (interrupted, failed, still running, or
 * being extended) the weights of its newest good checkpoint, so that a long run stopped early is
 * still usable. RunError (from readFinalWeights) when the run has neither.
 */
export function readRunDictionary(dir: string, onWarning?: (message: string) => void): RunDictionary {
  const info = readRunInfo(dir);
  if (info.status === 'finished' && hasFinalDictionary(dir)) {
    const final = readFinalWeights(dir);
    return { weights: final.weights, log10Density: final.log10Density, step: info.step, final: true, note: null };
  }
  const checkpoint = loadLatestCheckpoint(dir, onWarning);
  if (checkpoint === null) {
    const final = readFinalWeights(dir);
    return { weights: final.weights, log10Density: final.log10Density, step: info.step, final: true, note: null };
  }
  // The checkpoint holds the trained tensors; the activation comes from the run's architecture
  // (and, for batchtopk, the running threshold the checkpoint recorded; for jumprelu, exp of its log_threshold).
  const threshold = (checkpoint.components as { threshold?: number }).threshold ?? null;
  const activation = info.architecture ? inferenceActivation(info.architecture, checkpoint.weights.m, threshold, checkpoint.weights.log_threshold) : null;
  const weights = activation && activation.kind !== 'relu' ? { ...checkpoint.weights, activation } : checkpoint.weights;
  return {
    weights: foldInputScale(weights, checkpoint.inputScale),
    log10Density: null,
    step: checkpoint.step,
    final: false,
    note: `${dir} is ${info.status} at step ${info.step} of ${info.totalSteps}: using its newest checkpoint, step ${checkpoint.step} (the final dictionary is written when the run finishes)`,
  };
}
