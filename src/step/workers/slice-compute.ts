import type { SparsityPenalty } from '../../sae/gradients.js';
import { InternalError } from '../../errors.js';
import { encoderTermOfBDec, sparsityTerms } from '../sparse-gradients.js';
import type { AdamStepConsts } from '../adam.js';
import { sumSquares } from '../clip.js';
import { projectRows, unitNormRows } from '../decoder-constraint.js';
import { encoderProductArgs, encoderScreenArgs, screenRowRange, transposeActive, type LoopKernels } from '../kernels/loops.js';
import { withEncoderPre } from './encoder-product.js';
import { HostDenseSlice } from './slice-dense-host.js';
import { DenseSlice } from './slice-dense.js';
import { sliceContext, type SharedLayout, type SliceViews, type StateViews } from './layout.js';
import { centreRows, loadRows, residualRows, rowRange } from './row-reduce.js';
import { SliceSelect } from './slice-select.js';
import { addAuxGradients, AuxRows } from './slice-auxk.js';
import type { SelectionLayout, WorkerSelection } from './selection.js';
import { SliceJumpRelu, type JumpReluBackward } from './slice-jumprelu.js';

/** How ReLU's sparse encoder product runs: plain, screened over rows it quantizes itself, or over the rows every worker prepared. */
export type ScreenMode = 'no' | 'alone' | 'shared';

/**
 * One worker's share of a training step (sparse, or dense via slice-dense.ts): the features [i0, i1) of the slice it owns. Reads and
 * writes only the shared arrays its phase documents, and only its features' entries of the
 * per-feature and per-parameter arrays, so workers run a phase concurrently without locks.
 * Runs in a worker thread (worker.ts) or, for tests, in the calling thread.
 */
export class SliceCompute {
  private readonly s: StateViews;
  private readonly v: SliceViews;
  private readonly i0: number;
  private readonly i1: number;
  private readonly capacity: number;
  /** The slice's columns of W_enc, gathered contiguous [d, mk] for the encoder product. */
  private readonly wSlice: Float32Array;
  private readonly dense: DenseSlice;
  /** The dense formulation with the SIMD products (ReLU steps, when the kernels have them). */
  private readonly hostDense: HostDenseSlice | null;
  /** The formulation of the current step (set by encode), and whether its dense form runs on hostDense. */
  private denseStep = false;
  private denseOnHost = false;
  /** Every worker's partial reconstruction, in worker order (the residual sums them over this worker's rows). */
  private readonly partials: Float32Array[];
  private readonly slice: number;
  /** TopK / BatchTopK and AuxK (slice-select.ts, slice-auxk.ts). */
  private readonly select: SliceSelect;
  private readonly aux = new AuxRows();
  /** JumpReLU's scan and gradients (slice-jumprelu.ts). */
  private readonly jumprelu: SliceJumpRelu;
  /** The training stream's pool of rows (Batch.pooled), once the main thread has sent it. */
  private rowPool: Float32Array | null = null;

  constructor(
    memory: WebAssembly.Memory,
    private readonly layout: SharedLayout,
    slice: number,
    private readonly loops: LoopKernels,
  ) {
    ({ s: this.s, v: this.v, i0: this.i0, i1: this.i1, capacity: this.capacity, partials: this.partials } = sliceContext(memory, layout, slice));
    this.wSlice = new Float32Array(layout.d * (this.i1 - this.i0));
    this.dense = new DenseSlice(layout, this.s, this.v, this.i0, this.i1);
    this.hostDense = HostDenseSlice.available(loops) ? new HostDenseSlice(layout, this.s, this.v, this.i0, this.i1, loops) : null;
    this.slice = slice;
    this.jumprelu = new SliceJumpRelu(this.i0, this.i1);
    this.select = new SliceSelect(
      layout.slices.map((sl) => sl.i1 - sl.i0),
      slice,
      this.i0,
    );
  }

  /** Use a (new) selection buffer (selection.ts). */
  installSelection(buffer: SharedArrayBuffer, layout: SelectionLayout): void {
    this.select.install(buffer, layout);
  }

  /** Whether the current step has AuxK. */
  private get auxOn(): boolean {
    return !this.denseStep && this.select.selection?.auxK !== undefined;
  }

  /** The pool the steps' rows come from (a view of the training stream's SharedArrayBuffer). */
  installRowPool(pool: Float32Array): void {
    this.rowPool = pool;
  }

  /**
   * This worker's rows of x: copied from the pool (rowIndex names them) when `pooled`, then
   * multiplied by `scale` unless it is 1 (row-reduce.ts loadRows).
   */
  load(rows: number, pooled: boolean, scale: number): void {
    if (!pooled && scale === 1) return;
    if (pooled && !this.rowPool) throw new InternalError('a step from pooled rows before the pool was sent');
    const [r0, r1] = rowRange(rows, this.layout.slices.length, this.slice);
    loadRows(r0, r1, this.layout.d, this.s.x, scale, pooled ? this.rowPool : null, this.s.rowIndex);
  }

  /** Whether the kernels screen a product over rows that every worker prepared a share of (prepareScreen). */
  get sharesScreen(): boolean {
    return this.loops.screenRows !== undefined && this.loops.screenedProduct !== undefined;
  }

  /**
   * This worker's share of xc's rows (whole groups of 4, loops.ts screenRowRange) quantized and
   * packed for the screened encoder product (LoopKernels.screenRows), after every worker's
   * centre: once the others have done theirs, every slice's encode with screen 'shared' reads them all.
   */
  prepareScreen(rows: number): void {
    const { d } = this.layout;
    const [r0, r1] = screenRowRange(rows, this.layout.slices.length, this.slice);
    if (!this.loops.screenRows?.(rows, r0, r1, d, this.s.xc, d, this.s.screenRows)) {
      throw new InternalError(`the screened product's rows could not be prepared (rows ${r0}-${r1} of ${rows})`);
    }
  }

  /** xc = x - b_dec over this worker's rows, and their column sums into xSum. */
  centre(rows: number): void {
    const [r0, r1] = rowRange(rows, this.layout.slices.length, this.slice);
    const { d } = this.layout;
    const { s, v } = this;
    if (!this.loops.centre?.(r0, r1, d, s.x, s.b_dec, s.xc, v.xSum)) centreRows(r0, r1, d, s.x, s.b_dec, s.xc, v.xSum);
  }

  /**
   * G over this worker's rows from all partial reconstructions (after every encode), G's column
   * sums into gSum; `aux`: AuxK's error of the residual (row-reduce.ts). `mean`: the batch's
   * column means (each worker's own copy, slice-step.ts).
   */
  residual(rows: number, aux: boolean, mean: Float64Array): { sse: number; totalVariance: number; auxSse: number; residualSq: number } {
    const [r0, r1] = rowRange(rows, this.layout.slices.length, this.slice);
    const { d } = this.layout;
    const { s, v } = this;
    if (aux) {
      const a = { partials: this.select.v.auxPartial, error: this.select.v.auxError };
      return residualRows(r0, r1, rows, d, this.partials, s.b_dec, s.x, mean, s.G, v.gSum, a);
    }
    const simd = this.loops.residual?.(r0, r1, rows, d, this.partials, s.b_dec, s.x, mean, s.G, v.gSum, { table: v.partialAt, out: v.rowSums });
    return simd ? { ...simd, auxSse: 0, residualSq: 0 } : residualRows(r0, r1, rows, d, this.partials, s.b_dec, s.x, mean, s.G, v.gSum);
  }

  /**
   * pre = xc W_enc[:, slice] + b_enc[slice] (tfjs, plain layout), the scan for active entries and
   * the slice's partial reconstruction sum_{i in slice} f_i W_dec[i]. Returns nnz, or -1 if the
   * slice's active entries exceed its capacity. `dense`: the dense formulation (slice-dense.ts).
   * `select` (TopK / BatchTopK, sparse only): the pre-activations are kept and the slice's
   * candidates written instead; thresholds() and scan() follow. `jumprelu` (sparse only): the
   * scan is against the slice's learned thresholds (slice-jumprelu.ts). `screen` (ReLU, sparse
   * only; the caller decides, screen-choice.ts): the encoder product screened (wasm/screen.ts: the
   * same entries above 0), quantizing xc's rows itself ('alone') or reading the rows every
   * worker's prepareScreen wrote ('shared').
   */
  encode(
    rows: number,
    dense: boolean,
    select?: WorkerSelection,
    jumprelu?: { halfBandwidth: number },
    screen: ScreenMode = 'no',
  ): { nnz: number; ms: { encode: number; decode: number } } {
    const { d, m } = this.layout;
    const { i0, i1 } = this;
    const mk = i1 - i0;
    const t0 = performance.now();
    this.denseStep = dense;
    this.denseOnHost = dense && !jumprelu && this.hostDense !== null;
    this.select.selection = null;
    if (this.denseOnHost) return { nnz: this.hostDense!.encode(rows), ms: { encode: performance.now() - t0, decode: 0 } };
    if (dense) {
      for (let j = 0; j < d; j++) this.wSlice.set(this.s.W_enc.subarray(j * m + i0, j * m + i1), j * mk);
      const jr = jumprelu ? this.jumprelu.denseEncode(this.s, jumprelu.halfBandwidth) : undefined;
      return { nnz: this.dense.encode(rows, this.wSlice, jr), ms: { encode: performance.now() - t0, decode: 0 } };
    }
    if (select) {
      this.withPre(rows, (pre, stable) => this.select.candidates(rows, pre, select, stable));
      return { nnz: 0, ms: { encode: performance.now() - t0, decode: 0 } };
    }
    // ReLU reads only the entries above 0: its product may be screened. JumpReLU's gradient reads those near its thresholds.
    const nnz = this.withPre(
      rows,
      (pre) =>
        jumprelu
          ? this.jumprelu.scan(pre, rows, this.s, this.v, this.capacity, jumprelu.halfBandwidth)
          : this.loops.scan(pre, rows, mk, i0, this.v, this.s.fired, this.v.fSum, this.capacity),
      jumprelu ? 'no' : screen,
    );
    const t1 = performance.now();
    if (nnz >= 0) this.loops.decode(rows, d, this.v.rowPtr, this.v.col, this.v.val, this.s.W_dec, this.v.partial);
    return { nnz, ms: { encode: t1 - t0, decode: performance.now() - t1 } };
  }

  /** This worker's share of the selection's thresholds (after every encode with `select`). */
  thresholds(rows: number): void {
    this.select.thresholds(rows);
  }

  /**
   * The kept pre-activations against the thresholds (after thresholds()): the slice's active
   * entries and partial reconstruction, and AuxK's over its dead latents. nnz as encode.
   */
  scan(rows: number): { nnz: number; ms: { encode: number; decode: number } } {
    const { d } = this.layout;
    const { i0, i1, select } = this;
    const mk = i1 - i0;
    const t0 = performance.now();
    const nnz = this.loops.scan(select.pre, rows, mk, i0, this.v, this.s.fired, this.v.fSum, this.capacity, select.v.rowThreshold);
    const t1 = performance.now();
    if (nnz < 0) return { nnz, ms: { encode: t1 - t0, decode: 0 } };
    this.loops.decode(rows, d, this.v.rowPtr, this.v.col, this.v.val, this.s.W_dec, this.v.partial);
    if (this.auxOn) {
      this.aux.scan(select.pre, rows, mk, i0, select.deadLocal, select.v.auxThreshold);
      this.loops.decode(rows, d, this.aux.rowPtr, this.aux.col, this.aux.val, this.s.W_dec, select.v.auxPartial[this.slice]!);
    }
    return { nnz, ms: { encode: t1 - t0, decode: performance.now() - t1 } };
  }

  /**
   * The slice's pre-activations xc W_enc[:, slice] + b_enc[slice] for `use`: the SIMD kernels'
   * product into the slice's `pre` in shared memory (wasm/gemm.ts), else tfjs' (encoder-product.ts);
   * the two are equal to the bit. `stable`: pre is the slice's own array, unchanged until the next encode.
   * `screen` ('alone' or 'shared'): for a consumer of the entries above 0 only, the screened product
   * where the kernels have it (wasm/screen.ts: those entries to the bit, every other one <= 0),
   * with 'shared' over xc's rows as every worker's prepareScreen left them.
   */
  private withPre<T>(rows: number, use: (pre: Float32Array, stable: boolean) => T, screen: ScreenMode = 'no'): T {
    const { d, m } = this.layout;
    const { i0, i1, s, v } = this;
    const mk = i1 - i0;
    if (screen !== 'no' && this.loops.screenedProduct) {
      const args = { ...encoderScreenArgs(rows, d, s.xc, s.W_enc, m, i0, mk, s.b_enc, v.pre), packB: v.wPack, qPack: v.qPack, qStats: v.qStats };
      const exact = this.loops.screenedProduct(screen === 'shared' ? { ...args, rows: s.screenRows } : args);
      // Declined (arrays it cannot reach; not in the step's layout): the plain product, the same entries.
      if (exact >= 0) return use(v.pre.subarray(0, rows * mk), true);
    }
    if (this.loops.product?.({ ...encoderProductArgs(rows, d, s.xc, s.W_enc, m, i0, mk, s.b_enc, v.pre), packA: v.aPack, packB: v.wPack })) {
      return use(v.pre.subarray(0, rows * mk), true);
    }
    return withEncoderPre(s.xc, rows, d, s.W_enc, m, s.b_enc, i0, mk, () => this.preScratch(rows * mk), (pre) => use(pre, false));
  }

  private scratch = new Float32Array(0);

  /** Host room for a blocked encoder product's [rows, mk] output (grown on demand). */
  private preScratch(n: number): Float32Array {
    if (this.scratch.length < n) this.scratch = new Float32Array(n);
    return this.scratch;
  }

  /**
   * Given G = dL/dx_hat (shared), the slice's gradients: dL/dpre at its active entries, gb_enc,
   * gW_enc columns and gW_dec rows (projected tangent to the unit sphere when `project`), and its
   * share of b_dec's gradient, -(W_enc gb_enc) over the slice, in bdecPart. Returns the slice's
   * summed sparsity penalty and the squared norm of its gradients (for global-norm clipping).
   * auxScale (AuxK): its gradients are added too (slice-auxk.ts). jumprelu: its gradients
   * (slice-jumprelu.ts), log_threshold's counted in the squared norm; l1Sum is the slice's summed
   * tanh terms ('tanh'; 0 otherwise).
   */
  backward(
    rows: number,
    l1Coefficient: number,
    penalty: SparsityPenalty,
    project: boolean,
    auxScale?: number,
    jumprelu?: JumpReluBackward,
  ): { l1Sum: number; sumSquares: number } {
    const { d, m } = this.layout;
    const { i0, i1, s, v } = this;
    let l1Sum: number;
    if (jumprelu) {
      l1Sum = this.denseStep ? this.jumprelu.denseBackward(rows, d, jumprelu, s, v, this.dense) : this.jumprelu.backward(rows, d, m, jumprelu, s, v, this.loops);
    } else {
      l1Sum = sparsityTerms(i0, i1, d, s.W_dec, v.fSum, l1Coefficient, rows, penalty, v.decNorm, s.spars, s.decay);
      if (this.denseOnHost) {
        this.hostDense!.backward(rows);
      } else if (this.denseStep) {
        this.dense.backward(rows);
      } else {
        s.gb_enc.fill(0, i0, i1);
        this.loops.gradPre(rows, d, v.rowPtr, v.col, s.G, s.W_dec, s.spars, v.gPre, s.gb_enc);
        transposeActive(rows, i0, i1, v, s.fired, v.cscPtr, v.cscNext, v.cscRow, v.cscEntry);
        this.loops.weightGrads(i0, i1, d, m, v.cscPtr, v.cscRow, v.cscEntry, v.gPre, v.val, s.xc, s.G, s.W_dec, s.decay, s.gW_enc, s.gW_dec, v.accE, v.accD);
        if (this.auxOn && auxScale !== undefined) {
          addAuxGradients(rows, d, m, this.aux, this.select.v.auxError, auxScale, s.xc, s.W_dec, s.gW_enc, s.gb_enc, s.gW_dec);
        }
      }
    }
    v.bdecPart.fill(0);
    encoderTermOfBDec(i0, i1, d, m, s.W_enc, s.gb_enc, v.bdecPart, -1);
    if (project) projectRows(s.gW_dec, s.W_dec, i0, i1, d);
    let sq = 0;
    for (let j = 0; j < d; j++) sq = sumSquares(s.gW_enc, j * m + i0, j * m + i1, sq);
    sq = sumSquares(s.gb_enc, i0, i1, sq);
    sq = sumSquares(s.gW_dec, i0 * d, i1 * d, sq);
    if (jumprelu) sq = sumSquares(s.glog_threshold, i0, i1, sq);
    return { l1Sum, sumSquares: sq };
  }

  /** Adam on the slice's W_enc columns, b_enc entries and W_dec rows (and log_threshold entries with `thresholds`); then unit decoder rows if `renorm`. */
  update(consts: AdamStepConsts, renorm: boolean, thresholds = false): void {
    const { d, m } = this.layout;
    const { i0, i1, s } = this;
    const mk = i1 - i0;
    if (!this.loops.adamRows?.(s.W_enc, s.gW_enc, s.mW_enc, s.vW_enc, i0, mk, d, m, consts)) {
      for (let j = 0; j < d; j++) this.loops.adam(s.W_enc, s.gW_enc, s.mW_enc, s.vW_enc, j * m + i0, mk, consts);
    }
    this.loops.adam(s.b_enc, s.gb_enc, s.mb_enc, s.vb_enc, i0, mk, consts);
    this.loops.adam(s.W_dec, s.gW_dec, s.mW_dec, s.vW_dec, i0 * d, mk * d, consts);
    if (thresholds) this.loops.adam(s.log_threshold, s.glog_threshold, s.mlog_threshold, s.vlog_threshold, i0, mk, consts);
    if (renorm) unitNormRows(s.W_dec, i0, i1, d);
  }
}
