import type { StepArchitecture } from '../sae/gradients.js';
import { DEFAULT_AUXK_COEFFICIENT } from '../sae/architecture.js';
import type { BenchArchitecture, BenchRegime } from './configs.js';

/** Every this-many-th feature counts as dead in the trained regime of topk / batchtopk (AuxK's work). */
export const BENCH_DEAD_EVERY = 10;

/**
 * What a benchmarked step adds for its architecture, as the trainer would pass it
 * (train/loop.ts): relu nothing (L1 5e-3); topk / batchtopk keep k = targetL0 with no L1, and in
 * the trained regime AuxK over a tenth of the features as dead (k_aux d/2, coefficient 1/32: the
 * defaults; more than the 3-5% the README's TopK runs end with, so AuxK's cost is not understated);
 * at initialisation nothing is dead yet.
 */
export function benchStepArchitecture(a: BenchArchitecture, regime: BenchRegime, d: number, m: number, k: number): { l1Coefficient: number; arch?: StepArchitecture } {
  if (a === 'relu') return { l1Coefficient: 5e-3 };
  const dead = regime === 'trained' ? Int32Array.from({ length: Math.floor(m / BENCH_DEAD_EVERY) }, (_, q) => q * BENCH_DEAD_EVERY) : new Int32Array(0);
  return {
    l1Coefficient: 0,
    arch: { activation: { kind: a, k }, auxK: { dead, k: Math.max(1, Math.floor(d / 2)), coefficient: DEFAULT_AUXK_COEFFICIENT } },
  };
}
