import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import type { StepStats } from '../sae/gradients.js';
import type { PhaseTimer } from '../sae/kernels/phase-timer.js';
import type { SaeParams } from '../sae/params.js';
import { createSparseTrainStep } from '../sae/sparse-step.js';
import { denseTrainStep, type StepConfig } from '../sae/step.js';
import { DEFAULT_SPARSE_CAPACITY } from '../sae/kernels/parallel/layout.js';
import { ParallelStep } from '../sae/kernels/parallel/parallel-step.js';
import type { AdamState } from './adam.js';

/**
 * A training-step formulation: updates params and adam in place (canonical layout, so they are
 * current after every step for checkpoints and resampling), returns the step's statistics.
 * `timer` (optional, for the benchmark) is charged per phase.
 */
export type StepKernel = (params: SaeParams, adam: AdamState, x: tf.Tensor2D, cfg: StepConfig, timer?: PhaseTimer) => StepStats;

export type KernelKind = 'auto' | 'dense' | 'sparse';

/**
 * L0 / m below which the one-thread sparse step is faster than the dense one, per backend
 * (measured with `npm run bench -- --kernels dense,sparse --workers 1 --target-l0 N`, BENCHMARKS.md). The sparse step's host loops run at
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

/** train.workers 'auto': one worker per core, up to 8; 1 on tfjs-node, whose kernels are multi-threaded already. */
export function defaultWorkers(backend: string = tf.getBackend()): number {
  if (backend === 'tensorflow') return 1;
  return Math.max(1, Math.min(8, os.availableParallelism()));
}

/**
 * Mean active features per row of the first `rows` rows of x under the current parameters:
 * lets 'auto' choose the first step's formulation (a trained SAE, e.g. on resume, starts sparse).
 */
export function probeL0(params: SaeParams, x: tf.Tensor2D, rows = 256): number {
  return tf.tidy(() => {
    const n = Math.min(rows, x.shape[0]);
    const xs = tf.slice(x, [0, 0], [n, x.shape[1]]);
    const pre = tf.fused.matMul({ a: tf.sub(xs, params.b_dec), b: params.W_enc, bias: params.b_enc });
    return (tf.sum(tf.step(pre)).dataSync()[0]! / n);
  });
}

/** How a run's steps are computed: the step formulation plus its threads. */
export interface StepRunnerOptions {
  kind: KernelKind;
  /** Worker threads for the sparse step (1: the calling thread only). */
  workers: number;
  /** Use the WebAssembly SIMD loops in the workers where they load. */
  simd: boolean;
  batchSize: number;
  d: number;
  m: number;
  /** Where 'auto' left off (a resumed run continues with the same choices). */
  resume?: KernelChoice;
  /** Active entries the workers' sparse buffers hold, as a fraction of batch x width (default 0.25). */
  sparseCapacity?: number;
  /** The backend the workers initialise (default: the calling thread's). */
  backend?: string;
  /** Told when the workers cannot start (the run continues on the calling thread). */
  onWarning?: (message: string) => void;
  /**
   * False on a backend where weights cannot be read every step (webgpu): only the dense step
   * runs, on the calling thread, and nothing is read back here (default true).
   */
  hostKernels?: boolean;
}

/** The 'auto' kernel's memory: the formulation in use and the last measured L0 (null: none yet). */
export interface KernelChoice {
  current: 'dense' | 'sparse';
  lastL0: number | null;
  /**
   * The worker count the run started with ('auto' resolved on its first machine), so that a
   * resumed run sums in the same order wherever it continues. Absent before the first step.
   */
  workers?: number;
}

/**
 * The training loop's step: the formulation `kind` asks for ('auto': chosen by L0, probed before
 * the first step), run on worker threads that each own a slice of the features when workers > 1
 * (created at first use; a batch that does not fit their buffers runs on the calling thread).
 * Async because the workers are. Call invalidate() after writing params or
 * adam outside a step (resampling), and dispose() at the end.
 */
export interface StepRunner {
  step(params: SaeParams, adam: AdamState, x: tf.Tensor2D, cfg: StepConfig, timer?: PhaseTimer): Promise<StepStats>;
  invalidate(): void;
  dispose(): Promise<void>;
  /** What ran the last step, e.g. 'dense', 'sparse', 'sparse x2 workers (simd)'. */
  describe(): string;
  /** For checkpoints: pass back as `resume` to continue with the same choices. */
  choice(): KernelChoice;
}

export function createStepRunner(o: StepRunnerOptions): StepRunner {
  if (o.hostKernels === false) return denseOnlyRunner(o);
  const sparse = createSparseTrainStep();
  let parallel: Promise<ParallelStep> | null = null;
  let reload = false;
  let current: 'dense' | 'sparse' = o.kind === 'auto' ? (o.resume?.current ?? 'dense') : o.kind;
  let lastL0 = o.resume?.lastL0 ?? Number.NaN;
  let last: string = current;
  // No more workers than features (each owns at least one).
  let threads = Math.max(1, Math.min(o.workers, o.m));
  /**
   * The worker pool, created at first use; reloads the state if another formulation ran since.
   * null if the workers could not start: the run goes on in this thread, with a warning.
   */
  const workers = async (): Promise<ParallelStep | null> => {
    parallel ??= ParallelStep.create({
      batchSize: o.batchSize,
      d: o.d,
      m: o.m,
      workers: threads,
      backend: o.backend ?? tf.getBackend(),
      simd: o.simd,
      capacityFraction: o.sparseCapacity ?? DEFAULT_SPARSE_CAPACITY,
    });
    let p: ParallelStep;
    try {
      p = await parallel;
    } catch (e) {
      parallel = null;
      o.onWarning?.(`the ${threads} worker threads did not start (${(e as Error).message.split('\n')[0]}); training continues on one thread`);
      threads = 1;
      return null;
    }
    if (reload) p.invalidate();
    reload = false;
    return p;
  };
  const oneThreadSparse: StepRunner['step'] = async (params, adam, x, cfg, timer) => {
    const stats = sparse(params, adam, x, cfg, timer);
    lastL0 = sparse.lastL0();
    last = 'sparse';
    reload = true;
    return stats;
  };
  return {
    async step(params, adam, x, cfg, timer) {
      if (o.kind === 'auto') {
        if (!Number.isFinite(lastL0)) lastL0 = probeL0(params, x);
        current = chooseKernel(lastL0, params.m, current, threads > 1 ? WORKERS_SPARSE_CROSSOVER : tf.getBackend());
      }
      if (current === 'sparse') {
        const p = threads > 1 ? await workers() : null;
        if (!p) return oneThreadSparse(params, adam, x, cfg, timer);
        const stats = await p.step(params, adam, x, cfg, timer);
        if (stats) {
          lastL0 = stats.l0.dataSync()[0]!;
          last = `sparse x${p.workers} workers (${p.loops})`;
          return stats;
        }
        // More active entries than the workers' buffers hold: this batch dense (below), on the
        // workers if it fits them; 'auto' then goes by this batch's L0.
      }
      const p = threads > 1 ? await workers() : null;
      if (p) {
        const stats = await p.step(params, adam, x, cfg, timer, true);
        if (stats) {
          lastL0 = stats.l0.dataSync()[0]!;
          last = `dense x${p.workers} workers`;
          return stats;
        }
      }
      if (current === 'sparse' && o.kind === 'sparse') return oneThreadSparse(params, adam, x, cfg, timer);
      const stats = denseTrainStep(params, adam, x, cfg, timer);
      // A scalar read; the trainer reads the same statistics right after, so this adds no wait.
      lastL0 = stats.l0.dataSync()[0]!;
      last = 'dense';
      reload = true;
      return stats;
    },
    invalidate() {
      reload = true;
    },
    async dispose() {
      if (parallel) await (await parallel).dispose();
    },
    describe: () => last,
    choice: () => ({ current, lastL0: Number.isFinite(lastL0) ? lastL0 : null, workers: o.workers }),
  };
}

/**
 * The dense reference step and nothing else (GPU backends): no L0 read, no workers. The trainer
 * refuses train.kernel 'sparse' there before it starts (checkRunFitsBackend).
 */
function denseOnlyRunner(o: StepRunnerOptions): StepRunner {
  return {
    step: async (params, adam, x, cfg, timer) => denseTrainStep(params, adam, x, cfg, timer),
    invalidate() {},
    async dispose() {},
    describe: () => 'dense',
    choice: () => ({ current: 'dense', lastL0: o.resume?.lastL0 ?? null, workers: o.workers }),
  };
}
