/**
 * Which formulation 'auto' runs next, from the L0 it measured: the crossovers where the sparse
 * step overtakes the dense one (measured, BENCHMARKS.md) and the hysteresis around them.
 * On workers, TopK / BatchTopK go by WORKERS_SELECTION_SHARE, ReLU and JumpReLU (whose L0 is that
 * of its learned thresholds; the workers' dense slices serve both) by WORKERS_SPARSE_CROSSOVER (engine.ts).
 */

export type KernelKind = 'auto' | 'dense' | 'sparse';

/**
 * L0 / m below which the one-thread sparse step is faster than the dense one, per backend
 * (measured with `npm run bench -- --kernels dense,sparse --workers 0 --target-l0 N`, BENCHMARKS.md). The sparse step's host loops run at
 * ~1-2 GFLOP/s against the dense products' ~35 (wasm, XNNPACK) or ~1 (cpu, JavaScript).
 * tfjs-node's native products are faster still; its value is an estimate (not installed here).
 */
export const SPARSE_CROSSOVER: Record<string, number> = { wasm: 0.06, cpu: 0.5, tensorflow: 0.02 };

/** Once sparse, go back to dense only above this multiple of the crossover (no flip-flopping). */
const HYSTERESIS = 1.5;

/**
 * L0 / m below which the sparse step on worker threads (SIMD loops) is chosen, on any backend.
 * Measured on wasm with two workers: sparse is 2.0-2.4x faster than dense at L0/m ~ 19% (B and
 * A) and about even near 50% (BENCHMARKS.md); the limit is memory (the workers' entry buffers
 * hold 25% of batch x width), so switch at 15% and back above 22.5%.
 */
export const WORKERS_SPARSE_CROSSOVER = 0.15;

/**
 * TopK / BatchTopK on worker threads: the share of the workers' entry buffers (layout.ts
 * capacity, a fraction of batch x width) up to which 'auto' runs them sparse. The workers'
 * dense slices apply ReLU and JumpReLU only, so above it the step is the one-thread dense reference, which
 * is slower than the workers' sparse step at any L0 their buffers hold; the margin leaves room
 * for a slice that gets more than its share of the selected entries.
 */
export const WORKERS_SELECTION_SHARE = 0.8;

/**
 * The auto kernel's choice for the next step, given the last measured L0 (NaN: none yet).
 * `crossover`: a backend name (one-thread table above) or a fraction of m.
 */
export function chooseKernel(lastL0: number, m: number, current: 'dense' | 'sparse', crossoverFor: string | number): 'dense' | 'sparse' {
  if (!Number.isFinite(lastL0)) return 'dense';
  const fraction = typeof crossoverFor === 'number' ? crossoverFor : (SPARSE_CROSSOVER[crossoverFor] ?? SPARSE_CROSSOVER.wasm!);
  const crossover = fraction * m;
  if (current === 'sparse') return lastL0 > crossover * HYSTERESIS ? 'dense' : 'sparse';
  return lastL0 < crossover ? 'sparse' : 'dense';
}
