import * as tf from '@tensorflow/tfjs';
import type { StepStats } from '../sae/gradients.js';
import type { PhaseTimer } from '../sae/kernels/phase-timer.js';
import type { SaeParams } from '../sae/params.js';
import { createSparseTrainStep } from '../sae/sparse-step.js';
import { denseTrainStep, type StepConfig } from '../sae/step.js';
import type { AdamState } from './adam.js';

/**
 * A training-step formulation: updates params and adam in place (canonical layout, so they are
 * current after every step for checkpoints and resampling), returns the step's statistics.
 * `timer` (optional, for the benchmark) is charged per phase.
 */
export type StepKernel = (params: SaeParams, adam: AdamState, x: tf.Tensor2D, cfg: StepConfig, timer?: PhaseTimer) => StepStats;

export type KernelKind = 'auto' | 'dense' | 'sparse';

/**
 * L0 / m below which the sparse step is faster than the dense one, per backend (measured with
 * `npm run bench -- --crossover`, see BENCHMARKS.md). The sparse step's host loops run at
 * ~1-2 GFLOP/s against the dense products' ~35 (wasm, XNNPACK) or ~1 (cpu, JavaScript).
 * tfjs-node's native products are faster still; its value is an estimate (not installed here).
 */
export const SPARSE_CROSSOVER: Record<string, number> = { wasm: 0.06, cpu: 0.5, tensorflow: 0.02 };

/** Once sparse, go back to dense only above this multiple of the crossover (no flip-flopping). */
const HYSTERESIS = 1.5;

/** The auto kernel's choice for the next step, given the last measured L0 (NaN: none yet). */
export function chooseKernel(lastL0: number, m: number, current: 'dense' | 'sparse', backend: string): 'dense' | 'sparse' {
  if (!Number.isFinite(lastL0)) return 'dense';
  const crossover = (SPARSE_CROSSOVER[backend] ?? SPARSE_CROSSOVER.wasm!) * m;
  if (current === 'sparse') return lastL0 > crossover * HYSTERESIS ? 'dense' : 'sparse';
  return lastL0 < crossover ? 'sparse' : 'dense';
}

/**
 * The step formulation for train.kernel. 'auto' starts dense (at initialisation about half the
 * features fire) and switches by the L0 it measured on the previous step. All formulations give
 * the same results up to float32 summation order, and each is deterministic for a fixed input.
 */
export function selectStepKernel(kind: KernelKind): StepKernel {
  if (kind === 'dense') return denseTrainStep;
  const sparse = createSparseTrainStep();
  if (kind === 'sparse') return sparse;
  let current: 'dense' | 'sparse' = 'dense';
  let lastL0 = Number.NaN;
  return (params, adam, x, cfg, timer) => {
    current = chooseKernel(lastL0, params.m, current, tf.getBackend());
    if (current === 'sparse') {
      const stats = sparse(params, adam, x, cfg, timer);
      lastL0 = sparse.lastL0();
      return stats;
    }
    const stats = denseTrainStep(params, adam, x, cfg, timer);
    // A scalar read; the trainer reads the same statistics right after, so this adds no wait.
    lastL0 = stats.l0.dataSync()[0]!;
    return stats;
  };
}
