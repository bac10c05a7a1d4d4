import type { StepArchitecture } from '../sae/gradients.js';
import { DEFAULT_AUXK_COEFFICIENT } from '../sae/architecture.js';
import { jumpReluStep } from '../sae/jumprelu.js';
import { resolveJumpRelu } from '../sae/jumprelu-config.js';
import type { SaeWeights } from '../sae/params.js';
import type { BenchArchitecture, BenchRegime } from './configs.js';

/** Every this-many-th feature counts as dead in the trained regime of topk / batchtopk (AuxK's work). */
export const BENCH_DEAD_EVERY = 10;

/**
 * What a benchmarked step adds for its architecture, as the trainer would pass it
 * (train/loop.ts): relu nothing (L1 5e-3); topk / batchtopk keep k = targetL0 with no L1, and in
 * the trained regime AuxK over a tenth of the features as dead (k_aux d/2, coefficient 1/32: the
 * defaults; more than the 3-5% the README's TopK runs end with, so AuxK's cost is not understated);
 * at initialisation nothing is dead yet. jumprelu: its defaults (penalty 'step'; benchJumpReluWeights
 * sets the thresholds).
 */
export function benchStepArchitecture(a: BenchArchitecture, regime: BenchRegime, d: number, m: number, k: number): { l1Coefficient: number; arch?: StepArchitecture } {
  if (a === 'relu') return { l1Coefficient: 5e-3 };
  if (a === 'jumprelu') return { l1Coefficient: 0, arch: { activation: { kind: 'relu' }, jumprelu: jumpReluStep(resolveJumpRelu(undefined), 1) } };
  const dead = regime === 'trained' ? Int32Array.from({ length: Math.floor(m / BENCH_DEAD_EVERY) }, (_, q) => q * BENCH_DEAD_EVERY) : new Int32Array(0);
  return {
    l1Coefficient: 0,
    arch: { activation: { kind: a, k }, auxK: { dead, k: Math.max(1, Math.floor(d / 2)), coefficient: DEFAULT_AUXK_COEFFICIENT } },
  };
}

/** The jumprelu bench's thresholds (the stories260k preset's initialThreshold). */
export const BENCH_JUMPRELU_THRESHOLD = 0.5;

/**
 * jumprelu: every threshold at BENCH_JUMPRELU_THRESHOLD, and b_enc raised by as much, so that
 * pre - theta is what pre was: the regime's L0 (about m/2 at 'init', targetL0 'trained') is the
 * one set for relu.
 */
export function benchJumpReluWeights(w: SaeWeights): void {
  const theta = BENCH_JUMPRELU_THRESHOLD;
  w.log_threshold = new Float32Array(w.m).fill(Math.log(theta));
  for (let i = 0; i < w.m; i++) w.b_enc[i]! += theta;
}
