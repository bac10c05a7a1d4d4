/**
 * The training step, one interface over every formulation. The loop calls
 * `engine.step(params, adam, x, cfg)` and never knows which formulation ran it.
 *
 * The formulations, each checked against the reference by test/step/equivalence.test.ts:
 *   dense.ts               the REFERENCE: dense tfjs products, exact gradients (sae/gradients.ts)
 *   sparse.ts              one thread: dense encoder product, then host loops over the active
 *                          entries of f only (sparse-gradients.ts, kernels/loops.ts)
 *   workers/               worker threads each owning a slice of the features, sparse
 *                          (slice-compute.ts) or dense (slice-dense.ts, ReLU only) per slice
 * Every architecture runs on all of them, except that the dense slices apply ReLU and JumpReLU
 * only: TopK and BatchTopK run the workers sparse (up to their buffers) and the reference above.
 *   kernels/wasm/loops.ts  the workers' sparse loops and Adam in WebAssembly SIMD (kernels/simd-loops.ts)
 * Shared by all: one Adam (adam.ts), one clip (clip.ts), one decoder constraint
 * (decoder-constraint.ts), each with its tensor and host versions side by side.
 *
 * Which one runs: `kind` ('dense', 'sparse', or 'auto': by measured L0, choose.ts) times
 * `workers`, the worker threads (0: none, this thread runs dense.ts or sparse.ts). With one or more
 * (train.workers 'auto' on a wasm or cpu backend) the worker formulation runs, not the reference:
 * pin `workers: 0, kind: 'dense'` to run dense.ts. One worker is the fastest single thread: its
 * SIMD loops are 2-5x the tfjs formulations on this thread (BENCHMARKS.md, seventeenth session).
 */
import * as tf from '../backend/tfjs.js';
import os from 'node:os';
import type { StepStats } from '../sae/gradients.js';
import type { PhaseTimer } from '../util/phase-timer.js';
import type { SaeParams } from '../sae/params.js';
import type { AdamState } from './adam.js';
import { chooseKernel, WORKERS_SELECTION_SHARE, WORKERS_SPARSE_CROSSOVER, type KernelKind } from './choose.js';
import { denseTrainStep, type StepConfig } from './dense.js';
import { createSparseTrainStep } from './sparse.js';
import { DEFAULT_SPARSE_CAPACITY } from './workers/layout.js';
import { ParallelStep } from './workers/parallel-step.js';
import type { PoolScoreOptions, WorkersRowScorer } from './workers/pool-score.js';
import type { StepArchitecture } from '../sae/gradients.js';
import { stepTensor, type StepX } from './step-input.js';
import type { KernelChoice } from './kernel-choice.js';

export type { KernelKind } from './choose.js';
export { recordedWorkerThreads, type KernelChoice } from './kernel-choice.js';

/** Workers 'auto' starts on any width (one per core up to this). */
export const AUTO_WORKERS_ANY_WIDTH = 8;
/** Most workers 'auto' starts (each costs ~40 MiB of runtime). */
export const MAX_AUTO_WORKERS = 16;
/**
 * Beyond AUTO_WORKERS_ANY_WIDTH, features each worker must get: on 16 cores A (m = 1024) gained
 * nothing from 8 to 16 workers, B (8192) and C (12288) did (the table).
 */
export const MIN_FEATURES_PER_EXTRA_WORKER = 512;

/**
 * train.workers 'auto': one worker per core (one on a single core: its SIMD loops beat the tfjs
 * formulations on this thread), up to 8 on any width and up to 16 where every worker gets at least
 * MIN_FEATURES_PER_EXTRA_WORKER features; none on tfjs-node, whose kernels are multi-threaded
 * already. (WebGPU's steps run on the GPU whatever the count; the count is what a resume on the
 * CPU would use.)
 */
export function defaultWorkers(backend: string = tf.getBackend(), m = Infinity, cores = os.availableParallelism()): number {
  if (backend === 'tensorflow') return 0;
  const byWidth = Math.max(AUTO_WORKERS_ANY_WIDTH, Math.floor(m / MIN_FEATURES_PER_EXTRA_WORKER));
  return Math.max(1, Math.min(cores, MAX_AUTO_WORKERS, byWidth));
}

/**
 * Mean active features per row of the first `rows` rows of x under the current parameters
 * (pre > 0, or for jumprelu pre > its thresholds exp(log_threshold)): lets 'auto' choose the
 * first step's formulation (a trained SAE, e.g. on resume, starts sparse).
 */
export function probeL0(params: SaeParams, x: tf.Tensor2D, rows = 256): number {
  return tf.tidy(() => {
    const n = Math.min(rows, x.shape[0]);
    const xs = tf.slice(x, [0, 0], [n, x.shape[1]]);
    const pre = tf.fused.matMul({ a: tf.sub(xs, params.b_dec), b: params.W_enc, bias: params.b_enc });
    const gap = params.log_threshold ? tf.sub(pre, tf.exp(params.log_threshold)) : pre;
    return (tf.sum(tf.step(gap)).dataSync()[0]! / n);
  });
}

/** How a run's steps are computed: the step formulation plus its threads. */
export interface StepEngineOptions {
  kind: KernelKind;
  /** Worker threads for the step (0: none, the calling thread runs the tfjs formulations). */
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

/**
 * The training loop's step engine: the formulation `kind` asks for ('auto': chosen by L0, probed before
 * the first step), run on worker threads that each own a slice of the features when workers >= 1
 * (created at first use; a batch that does not fit their buffers runs on the calling thread).
 * Async because the workers are. The workers keep the state between steps: call sync() before
 * reading params or adam outside a step (checkpoints, resampling, evaluation), invalidate()
 * after writing them, and dispose() at the end (which does not sync).
 */
export interface StepEngine {
  /**
   * One optimizer step on x [B, d] (a tensor, or the loop's batch as a StepInput, whose tensor is
   * made only if a formulation on this thread needs it): updates params and adam in place,
   * returns the step's statistics (the caller disposes them).
   */
  step(params: SaeParams, adam: AdamState, x: StepX, cfg: StepConfig, timer?: PhaseTimer): Promise<StepStats>;
  /** Bring params and adam up to date with the state the worker threads hold (a no-op when none is held). */
  sync(): Promise<void>;
  /** params or adam were written outside a step (resampling, a restore): reload them before the next. */
  invalidate(): void;
  /**
   * Main-thread milliseconds so far inside worker steps outside the waits for them (the serial
   * part that does not shrink with more workers), and inside sync(). Zeros without workers.
   */
  mainThreadMs(): { serial: number; sync: number };
  /**
   * Where resampling scores its pool: the worker threads (started if they are not yet), from the
   * synced params, when the engine has any; null without workers or on a GPU backend (the
   * caller scores with tfjs on this thread). The caller disposes it after the event.
   */
  poolScorer(params: SaeParams, opts?: PoolScoreOptions): Promise<WorkersRowScorer | null>;
  /** Stops the worker threads, if any. */
  dispose(): Promise<void>;
  /** What ran the last step, e.g. 'dense', 'sparse', 'sparse x2 workers (simd)'. */
  describe(): string;
  /** For checkpoints: pass back as `resume` to continue with the same choices. */
  choice(): KernelChoice;
}

export function createStepEngine(o: StepEngineOptions): StepEngine {
  if (o.hostKernels === false) return denseOnlyEngine(o);
  const sparse = createSparseTrainStep();
  let parallel: Promise<ParallelStep> | null = null;
  /** The started pool, once it is (for mainThreadMs). */
  let settled: ParallelStep | null = null;
  let reload = false;
  let current: 'dense' | 'sparse' = o.kind === 'auto' ? (o.resume?.current ?? 'dense') : o.kind;
  let lastL0 = o.resume?.lastL0 ?? Number.NaN;
  let last: string = current;
  // No more workers than features (each owns at least one); 0: none, this thread steps.
  let threads = Math.max(0, Math.min(o.workers, o.m));
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
      o.onWarning?.(`the ${threads} worker thread${threads === 1 ? '' : 's'} did not start (${(e as Error).message.split('\n')[0]}); training continues on the main thread`);
      threads = 0;
      return null;
    }
    if (reload) p.invalidate();
    reload = false;
    settled = p;
    return p;
  };
  /** What the workers hold, into params and adam (before anything else reads or steps them). */
  const syncWorkers = async (): Promise<void> => settled?.sync();
  const denseStep: StepEngine['step'] = async (params, adam, x, cfg, timer) => {
    await syncWorkers();
    const stats = denseTrainStep(params, adam, stepTensor(x), cfg, timer);
    // A scalar read; the trainer reads the same statistics right after, so this adds no wait.
    lastL0 = stats.l0.dataSync()[0]!;
    last = 'dense';
    reload = true;
    return stats;
  };
  const oneThreadSparse: StepEngine['step'] = async (params, adam, x, cfg, timer) => {
    await syncWorkers();
    const stats = sparse(params, adam, stepTensor(x), cfg, timer);
    lastL0 = sparse.lastL0();
    last = 'sparse';
    reload = true;
    return stats;
  };
  return {
    async step(params, adam, x, cfg, timer) {
      const act = cfg.arch?.activation ?? { kind: 'relu' };
      const workersServe = workersSelect(cfg.arch);
      // The workers' dense slices apply ReLU and JumpReLU's thresholds (not TopK's selection).
      const denseSlices = act.kind === 'relu';
      if (o.kind === 'auto') {
        // TopK / BatchTopK: L0 is k from the first step.
        if (act.kind !== 'relu') lastL0 = act.k;
        else if (!Number.isFinite(lastL0)) {
          await syncWorkers();
          lastL0 = probeL0(params, stepTensor(x));
        }
        const onWorkers = threads > 0 && workersServe;
        const selection = WORKERS_SELECTION_SHARE * (o.sparseCapacity ?? DEFAULT_SPARSE_CAPACITY);
        current = chooseKernel(lastL0, params.m, current, onWorkers ? (denseSlices ? WORKERS_SPARSE_CROSSOVER : selection) : tf.getBackend());
      }
      if (current === 'sparse') {
        const p = threads > 0 && workersServe ? await workers() : null;
        if (!p) return oneThreadSparse(params, adam, x, cfg, timer);
        const stats = await p.step(params, adam, x, cfg, timer, false);
        if (stats) {
          lastL0 = stats.l0.dataSync()[0]!;
          last = `sparse x${p.workers} workers (${p.loops})`;
          return stats;
        }
        // More active entries than the workers' buffers hold: this batch dense (below), on the
        // workers if it fits them; 'auto' then goes by this batch's L0.
      }
      // Beyond the workers' dense slices (another activation, jumprelu): the reference below.
      const p = threads > 0 && denseSlices && workersServe ? await workers() : null;
      if (p) {
        const stats = await p.step(params, adam, x, cfg, timer, true);
        if (stats) {
          lastL0 = stats.l0.dataSync()[0]!;
          last = `dense x${p.workers} workers`;
          return stats;
        }
      }
      if (current === 'sparse' && o.kind === 'sparse') return oneThreadSparse(params, adam, x, cfg, timer);
      return denseStep(params, adam, x, cfg, timer);
    },
    sync: syncWorkers,
    invalidate() {
      reload = true;
      // Dropped now, not at the next step: a sync() in between must not overwrite what was written.
      settled?.invalidate();
    },
    mainThreadMs: () => ({ serial: settled?.serialMs ?? 0, sync: settled?.syncMs ?? 0 }),
    async poolScorer(params, opts) {
      await syncWorkers();
      const p = threads > 0 ? await workers() : null;
      return p ? p.poolScorer(params, opts) : null;
    },
    async dispose() {
      if (parallel) await (await parallel).dispose();
    },
    describe: () => last,
    choice: () => ({ current, lastL0: Number.isFinite(lastL0) ? lastL0 : null, workerThreads: o.workers }),
  };
}

/**
 * Whether the worker formulation serves this step's architecture: ReLU, TopK / BatchTopK with
 * or without AuxK (selected across the workers, workers/selection.ts), and JumpReLU (sparse:
 * workers/slice-jumprelu.ts).
 */
function workersSelect(arch: StepArchitecture | undefined): boolean {
  if (arch?.jumprelu) return true;
  const kind = arch?.activation.kind ?? 'relu';
  return kind === 'relu' || kind === 'topk' || kind === 'batchtopk';
}

/**
 * The dense reference step and nothing else (GPU backends): no L0 read, no workers. The trainer
 * refuses train.kernel 'sparse' there before it starts (checkRunFitsBackend).
 */
function denseOnlyEngine(o: StepEngineOptions): StepEngine {
  return {
    step: async (params, adam, x, cfg, timer) => denseTrainStep(params, adam, stepTensor(x), cfg, timer),
    sync: async () => {},
    invalidate() {},
    mainThreadMs: () => ({ serial: 0, sync: 0 }),
    poolScorer: async () => null,
    async dispose() {},
    describe: () => 'dense',
    choice: () => ({ current: 'dense', lastL0: o.resume?.lastL0 ?? null, workerThreads: o.workers }),
  };
}
