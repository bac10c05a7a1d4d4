import * as tf from '../../backend/tfjs.js';
import type { AdamState, TrainedName } from '../adam.js';
import type { StepStats } from '../../sae/gradients.js';
import { PARAM_NAMES, paramShape, type SaeParams } from '../../sae/params.js';
import { InternalError } from '../../errors.js';
import { jumpReluSparsity } from '../kernels/jumprelu-loops.js';
import type { StepConfig } from '../dense.js';
import { hostView, tensorFromHost } from '../kernels/host-io.js';
import type { PhaseTimer } from '../../util/phase-timer.js';
import { StepInput, stepRows, type StepX } from '../step-input.js';
import { DEFAULT_SPARSE_CAPACITY, planLayout, viewsOf, type SharedLayout, type StateViews } from './layout.js';
import { WorkerPool } from './pool.js';
import type { SliceStepRequest } from './slice-step.js';
import { StepSync } from './step-sync.js';
import { stepMemoryRowScorer, workersRowScorer, type PoolScoreOptions, type WorkersRowScorer } from './pool-score.js';
import { fits, planSelection, view, type SelectionLayout, type WorkerSelection } from './selection.js';

export interface ParallelStepOptions {
  /** Largest batch (rows) the shared buffers hold. */
  batchSize: number;
  d: number;
  m: number;
  workers: number;
  /** The tfjs backend each worker initialises (the main thread's). */
  backend: string;
  /** Use the WebAssembly SIMD loops where they load. */
  simd: boolean;
  /** Active entries a slice holds, as a fraction of batch x slice width (more: one-thread fallback). */
  capacityFraction?: number;
}

/**
 * The training step (sparse or dense) on worker threads, each owning a contiguous slice of the features (its
 * columns of W_enc, entries of b_enc, rows of W_dec and their Adam moments). Features interact
 * only through the reconstruction and b_dec, so a step is five phases, every worker adding k
 * vectors of length d in between: centre (each worker: its rows of x - b_dec), encode (its
 * features: encoder product, scan, partial reconstruction), residual (its rows: G from all the
 * partials in worker order), backward (its features' gradients), update (b_dec's gradient and
 * the clipping norm, computed alike by every worker; Adam on each slice, and worker 0 on b_dec).
 * ReLU's screened encode (few active entries in the last step, screen-choice.ts) is preceded by
 * one more: each worker quantizes its share of xc's rows for every slice's screened product.
 * TopK / BatchTopK split encode in three (candidates, thresholds, scan: selection.ts), and AuxK
 * adds its error of the residual to the residual phase and its gradients to the backward one
 * (slice-auxk.ts). The main thread sends one message per step: the workers meet at a shared
 * barrier between phases (slice-step.ts, step-sync.ts), and it is free meanwhile. The state
 * lives in one shared memory and stays there between steps: params and adam are written only by
 * sync(), which whoever reads them between steps calls first; whoever writes them calls
 * invalidate(). Deterministic for a fixed worker count; equal to the one-thread sparse step up
 * to float32 summation order.
 */
export class ParallelStep {
  private stale = true;
  /** The model whose state the workers hold, and whether it has changed since params and adam were written. */
  private owner: { params: SaeParams; adam: AdamState } | null = null;
  private unsynced = false;
  /** Main-thread milliseconds inside step(), outside the waits for the workers (the serial part; benchmarks). */
  serialMs = 0;
  /** Milliseconds spent in sync() copying the state into the tfjs variables. */
  syncMs = 0;
  /** Whether ReLU's sparse encoder product may be screened (slice-step.ts; false: always the plain product, the same entries). */
  screening = true;
  /** Steps whose encoder product was screened (benchmarks, tests). */
  screenedSteps = 0;
  private readonly s: StateViews;
  /** The pool the workers copy pooled batches' rows from (Batch.pooled), once one was sent. */
  private rowPool: Float32Array | null = null;
  /** The TopK / BatchTopK selection buffer the workers share (selection.ts), once one ran. */
  private selection: { layout: SelectionLayout; rowThreshold: Float32Array } | null = null;

  private constructor(
    private readonly pool: WorkerPool,
    private readonly layout: SharedLayout,
    memory: WebAssembly.Memory,
    readonly loops: string,
    private readonly stepSync: StepSync,
  ) {
    this.s = viewsOf(memory, layout.arrays) as unknown as StateViews;
  }

  static async create(o: ParallelStepOptions): Promise<ParallelStep> {
    const { layout, arena } = planLayout(o.batchSize, o.d, o.m, o.workers, o.capacityFraction ?? DEFAULT_SPARSE_CAPACITY);
    const stepSync = StepSync.create(o.workers);
    // A worker that dies mid-step must not leave the others at the barrier.
    const pool = new WorkerPool(o.workers, () => stepSync.abort());
    try {
      const replies = await pool.all((k) => ({ kind: 'init', memory: arena.memory, layout, slice: k, backend: o.backend, simd: o.simd, stepSync: stepSync.buffer }));
      return new ParallelStep(pool, layout, arena.memory, replies[0]!.loops, stepSync);
    } catch (e) {
      await pool.dispose();
      throw e;
    }
  }

  get workers(): number {
    return this.pool.size;
  }

  /** params or adam were written by someone else: reload them before the next step (what the workers held is dropped). */
  invalidate(): void {
    this.stale = true;
    this.unsynced = false;
  }

  /**
   * One step; null (with params and adam untouched) if the batch does not fit the shared
   * buffers (more rows, or more active entries than a slice holds) or the step's activation is
   * not one the workers select (they do ReLU, TopK, BatchTopK and JumpReLU): the caller runs another kernel.
   * `dense`: each worker runs the dense formulation on its slice (ReLU and JumpReLU; never declines for entries).
   * JumpReLU (cfg.arch.jumprelu): each worker scans against its slice's learned
   * thresholds and adds their straight-through gradients (slice-jumprelu.ts); log_threshold and
   * its moments live in the workers with the rest of the state.
   * TopK / BatchTopK (cfg.arch) and AuxK run sparse: each worker writes its slice's candidates,
   * the workers take the thresholds from all of them (selection.ts), then scan.
   */
  async step(params: SaeParams, adam: AdamState, x: StepX, cfg: StepConfig, timer?: PhaseTimer, dense = false): Promise<StepStats | null> {
    const { m } = this.layout;
    const rows = stepRows(x);
    if (rows > this.layout.B) return null;
    const select = workerSelection(cfg);
    if (select === null || (select && dense)) return null;
    const jr = cfg.arch?.jumprelu;
    if (jr && (!params.log_threshold || !adam.m.log_threshold)) throw new InternalError('a jumprelu step on the workers for an SAE without log_threshold');
    const s = this.s;
    // Another model's state (tests reuse one pool): give back the one held, take this one.
    if (this.owner && (this.owner.params !== params || this.owner.adam !== adam)) {
      this.sync();
      this.stale = true;
    }
    if (this.stale) this.download(params, adam);
    this.owner = { params, adam };
    if (select) await this.ensureSelection(select);
    const pooled = x instanceof StepInput ? x.batch.pooled : undefined;
    if (pooled) await this.ensureRowPool(pooled.pool);
    const t0 = performance.now();
    const input = this.writeInput(x, pooled);
    this.stepSync.reset();
    const req: SliceStepRequest = {
      rows,
      input,
      dense,
      ...(select ? { select } : {}),
      ...(jr ? { jumprelu: jr } : {}),
      l1Coefficient: cfg.l1Coefficient,
      penalty: cfg.recipe.sparsityPenalty,
      project: cfg.recipe.decoderConstraint === 'unit-norm',
      clip: cfg.recipe.gradClip,
      adam: { t: adam.t + 1, lr: cfg.lr, hyper: cfg.adam },
      screen: this.screening,
    };
    const t1 = performance.now();
    const out = await this.pool.every(() => ({ kind: 'step', ...req }));
    const t2 = performance.now();
    if (out.some((r) => r.declined)) {
      this.serialMs += t1 - t0 + performance.now() - t2;
      return null;
    }
    adam.tick();
    if (out[0]!.screened) this.screenedSteps++;
    // The state stays here (the workers own it); params and adam catch up at sync().
    this.unsynced = true;
    // Worker 0's clock splits the wait; what it did not see (the messages, writing x) counts to encode.
    timer?.split(out[0]!.ms, 'encode');

    const nnz = out.reduce((a, r) => a + r.nnz, 0);
    const sse = out.reduce((a, r) => a + r.sse, 0);
    const totalVariance = out.reduce((a, r) => a + r.totalVariance, 0);
    const l1Sum = out.reduce((a, r) => a + r.l1Sum, 0);
    // jumprelu: `l1` holds its sparsity term S, weighted by lambda (sae/jumprelu.ts).
    const l1 = jr ? jumpReluSparsity(jr, nnz / rows, l1Sum, rows) : l1Sum / rows;
    const mse = sse / rows;
    const stats: StepStats = {
      loss: tf.scalar(mse + (jr ? jr.coefficient : cfg.l1Coefficient) * l1 + out[0]!.auxLoss),
      mse: tf.scalar(mse),
      l1: tf.scalar(l1),
      l0: tf.scalar(nnz / rows),
      totalVariance: tf.scalar(totalVariance),
      sse: tf.scalar(sse),
      firedCounts: tensorFromHost<tf.Rank.R1>(s.fired.subarray(0, m), [m]),
      ...(select?.kind === 'batchtopk' ? { threshold: tf.scalar(this.selection!.rowThreshold[0]!) } : {}),
    };
    this.serialMs += t1 - t0 + performance.now() - t2;
    timer?.lap('bookkeeping');
    return stats;
  }

  /**
   * What the workers need of x: a tensor (already scaled) or a batch's contiguous rows written
   * into x; a pooled batch's rows named in rowIndex, for each worker to copy its own (in the
   * step, beside the others', not on this thread).
   */
  private writeInput(x: StepX, pooled: StepInput['batch']['pooled']): SliceStepRequest['input'] {
    const s = this.s;
    if (!(x instanceof StepInput)) {
      s.x.set(hostView(x));
      return { pooled: false, scale: 1 };
    }
    if (pooled) s.rowIndex.set(pooled.index.subarray(0, x.rows));
    else s.x.set(x.batch.x);
    return { pooled: pooled !== undefined, scale: x.scale };
  }

  /** Send the workers the pool of rows pooled batches name, unless they have it. */
  private async ensureRowPool(pool: Float32Array): Promise<void> {
    if (this.rowPool === pool) return;
    await this.pool.all(() => ({ kind: 'row-pool', pool }));
    this.rowPool = pool;
  }

  /** A selection buffer that holds this step's candidates, shared with the workers (grown when k is larger than any before). */
  private async ensureSelection(sel: WorkerSelection): Promise<void> {
    if (this.selection && fits(this.selection.layout, sel)) return;
    const widths = this.layout.slices.map((sl) => sl.i1 - sl.i0);
    const before = this.selection?.layout;
    const layout = planSelection(this.layout.B, this.layout.d, widths, Math.max(sel.k, before?.k ?? 0), Math.max(sel.auxK?.k ?? 0, before?.kAux ?? 0));
    const buffer = new SharedArrayBuffer(layout.bytes);
    await this.pool.all(() => ({ kind: 'selection', buffer, layout }));
    this.selection = { layout, rowThreshold: view(buffer, layout.rowThreshold) };
  }

  /**
   * Copy the state the workers hold into params and adam (the tfjs variables), if a step changed
   * it since the last copy. Whoever reads params or adam between steps (a checkpoint, resampling,
   * evaluation, another formulation) calls this first.
   */
  sync(): void {
    if (!this.unsynced || !this.owner) return;
    const t = performance.now();
    this.upload(this.owner.params, this.owner.adam);
    this.unsynced = false;
    this.syncMs += performance.now() - t;
  }

  /**
   * Resampling's pool scored on these workers (pool-score.ts), from params as they are: sync()
   * first where a step has changed the state since. ReLU and JumpReLU with the SIMD kernels run
   * the step's forward pass in its own memory (stepMemoryRowScorer), where the arrays already hold
   * params' weights when the last step was theirs; TopK, BatchTopK and the JavaScript loops score
   * with tfjs over a copy (workersRowScorer).
   */
  poolScorer(params: SaeParams, opts?: PoolScoreOptions): Promise<WorkersRowScorer> {
    const kind = params.activation.kind;
    if (this.loops !== 'simd' || (kind !== 'relu' && kind !== 'jumprelu')) return workersRowScorer(this.pool, params, opts);
    if (this.stale || this.owner?.params !== params) {
      // The arrays hold another state (or none yet): give it back, put params' weights in for
      // the event, and reload everything at the next step.
      this.sync();
      for (const n of PARAM_NAMES) this.hostArrays(n).p.set(params.get(n).dataSync() as Float32Array);
      this.stale = true;
    }
    const threshold = params.activation.kind === 'jumprelu' ? params.activation.threshold : undefined;
    return stepMemoryRowScorer(this.pool, this.s.x, this.layout.B, this.layout.d, threshold, opts);
  }

  /** Live tensors in each worker (for leak tests). */
  async workerTensors(): Promise<number[]> {
    return (await this.pool.all(() => ({ kind: 'tensors' }))).map((r) => r.count);
  }

  async dispose(): Promise<void> {
    await this.pool.dispose();
  }

  private hostArrays(n: TrainedName): { p: Float32Array; m: Float32Array; v: Float32Array } {
    const s = this.s as unknown as Record<string, Float32Array>;
    return { p: s[n]!, m: s[`m${n}`]!, v: s[`v${n}`]! };
  }

  private download(params: SaeParams, adam: AdamState): void {
    for (const n of trained(params, adam)) {
      const h = this.hostArrays(n);
      h.p.set(paramOf(params, n).dataSync() as Float32Array);
      h.m.set(adam.m[n]!.dataSync() as Float32Array);
      h.v.set(adam.v[n]!.dataSync() as Float32Array);
    }
    this.stale = false;
  }

  private upload(params: SaeParams, adam: AdamState): void {
    const { d, m } = this.layout;
    for (const n of trained(params, adam)) {
      const h = this.hostArrays(n);
      const shape = n === 'log_threshold' ? [m] : paramShape(n, d, m);
      for (const [dst, src] of [
        [paramOf(params, n), h.p],
        [adam.m[n]!, h.m],
        [adam.v[n]!, h.v],
      ] as const) {
        const t = tensorFromHost(src, shape);
        dst.assign(t);
        t.dispose();
      }
    }
  }
}

/** The parameters the workers hold for this model: the four, and jumprelu's log_threshold where it has one (with its moments). */
function trained(params: SaeParams, adam: AdamState): TrainedName[] {
  return params.log_threshold && adam.m.log_threshold ? [...PARAM_NAMES, 'log_threshold'] : [...PARAM_NAMES];
}

function paramOf(params: SaeParams, n: TrainedName): tf.Variable {
  return n === 'log_threshold' ? params.log_threshold! : params.get(n);
}

/**
 * The selection the workers make for this step's architecture: undefined for ReLU, null for an
 * activation they do not select (the caller runs another formulation).
 */
function workerSelection(cfg: StepConfig): WorkerSelection | undefined | null {
  // jumprelu: the learned thresholds take the place of a selection (slice-jumprelu.ts).
  if (cfg.arch?.jumprelu) return undefined;
  const a = cfg.arch?.activation ?? { kind: 'relu' as const };
  if (a.kind === 'relu') return cfg.arch?.auxK?.dead.length ? null : undefined;
  if (a.kind !== 'topk' && a.kind !== 'batchtopk') return null;
  const aux = cfg.arch?.auxK;
  return { kind: a.kind, k: a.k, ...(aux && aux.dead.length > 0 ? { auxK: { dead: aux.dead, k: aux.k, coefficient: aux.coefficient } } : {}) };
}
