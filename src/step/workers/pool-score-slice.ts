import { InternalError } from '../../errors.js';
import { encoderProductArgs, encoderScreenArgs, type LoopKernels } from '../kernels/loops.js';
import { sliceContext, type SharedLayout, type SliceViews, type StateViews } from './layout.js';
import { rowRange, scoreRowsOfPartials } from './row-reduce.js';
import { ScreenChoice } from './screen-choice.js';
import { SPARSE_DECODE_MAX_DENSITY } from './sparse-decode-rows.js';

/**
 * A worker's part of scoring resampling's pool in the step's own shared memory: for a chunk of
 * pool rows in x (centred into xc by the step's 'centre'), its slice's pre-activations by the
 * SIMD product (wasm/gemm.ts, or screened: wasm/screen.ts), the activation (ReLU, or JumpReLU's fixed thresholds), and the
 * slice's partial reconstruction f W_dec[slice] into `partial`; the rows' scores follow from all
 * the partials (row-reduce.ts scoreRowsOfPartials). Between steps x, xc, pre, the sparse entries
 * and partial are free; the parameters are read, and nothing the next step reads (firing counts,
 * moments) is written.
 */
export class PoolScoreSlice {
  private readonly s: StateViews;
  private readonly v: SliceViews;
  private readonly i0: number;
  private readonly i1: number;
  private readonly capacity: number;
  /** Every worker's partial reconstruction, in worker order. */
  private readonly partials: Float32Array[];
  /** The slice's thresholds max(theta_i, 0) (JumpReLU), or null (ReLU: 0). */
  private threshold: Float32Array | null = null;
  /** Largest fraction of the slice's entries that are active for which it decodes sparse (below 0: always the product). */
  private sparseUpTo = SPARSE_DECODE_MAX_DENSITY;
  /** Whether the next chunk's encoder product is screened (screen-choice.ts): from the last chunk's active entries. */
  private screen = new ScreenChoice();

  constructor(
    memory: WebAssembly.Memory,
    private readonly layout: SharedLayout,
    private readonly slice: number,
    /** The SIMD kernels (with `product`): the caller sends this work only where the workers loaded them. */
    private readonly loops: LoopKernels,
  ) {
    ({ s: this.s, v: this.v, i0: this.i0, i1: this.i1, capacity: this.capacity, partials: this.partials } = sliceContext(memory, layout, slice));
  }

  /**
   * One resampling event: `threshold` [m] the JumpReLU thresholds the reference encode applies
   * (sae/activation.ts: active where pre > max(threshold, 0)); absent for ReLU.
   */
  begin(threshold: Float32Array | undefined, sparseUpTo = SPARSE_DECODE_MAX_DENSITY): void {
    this.threshold = threshold ? Float32Array.from(threshold.subarray(this.i0, this.i1), (t) => Math.max(t, 0)) : null;
    this.sparseUpTo = sparseUpTo;
    this.screen = new ScreenChoice();
  }

  /**
   * The slice's partial reconstruction of the chunk's `rows` rows: sum over its active features
   * of f_i W_dec[i], by the sparse decode when few entries are active (as after the first steps),
   * else by the product over f. Returns the active entries (for tests and logs).
   */
  encode(rows: number): { nnz: number; sparse: boolean } {
    const { d, m } = this.layout;
    const { i0, i1, s, v } = this;
    const mk = i1 - i0;
    const packs = { packA: v.aPack, packB: v.wPack };
    const product = this.loops.product;
    if (!product) throw new InternalError('pool scoring on the step workers needs their SIMD product kernels');
    // Only the entries above the thresholds (all >= 0) count: the screened product serves when few are active.
    const screened =
      this.screen.use() &&
      (this.loops.screenedProduct?.({ ...encoderScreenArgs(rows, d, s.xc, s.W_enc, m, i0, mk, s.b_enc, v.pre), packB: v.wPack, qPack: v.qPack, qStats: v.qStats }) ?? -1) >= 0;
    if (!screened && !product({ ...encoderProductArgs(rows, d, s.xc, s.W_enc, m, i0, mk, s.b_enc, v.pre), ...packs })) {
      throw new InternalError(`the SIMD product declined pool scoring's encoder product (${rows} rows of the slice's shared arrays)`);
    }
    const pre = v.pre.subarray(0, rows * mk);
    const limit = Math.min(this.capacity, Math.floor(this.sparseUpTo * rows * mk));
    const active = activate(pre, rows, mk, i0, this.threshold, v, limit);
    this.screen.observe(active.count, rows * mk);
    if (active.fits) {
      this.loops.decode(rows, d, v.rowPtr, v.col, v.val, s.W_dec, v.partial);
      return { nnz: active.count, sparse: true };
    }
    // f is in pre now: partial = f W_dec[i0:i1] in one product (k = mk).
    product({ M: rows, N: d, K: mk, a: pre, ars: mk, acs: 1, b: s.W_dec.subarray(i0 * d), brs: d, bcs: 1, c: v.partial, ldc: d, ...packs });
    return { nnz: active.count, sparse: false };
  }

  /** The packed scores of this worker's row range of the chunk, once every slice has encoded it. */
  scoreRows(rows: number): { rows: number; packed: Float32Array } {
    const [r0, r1] = rowRange(rows, this.layout.slices.length, this.slice);
    return { rows: r1 - r0, packed: scoreRowsOfPartials(r0, r1, this.layout.d, this.partials, this.s.x, this.s.xc) };
  }
}

/**
 * f = pre where pre > the feature's threshold (0 without thresholds), else 0, in place in pre
 * [rows, mk] (column c is feature i0 + c); while at most `limit` entries are active they are also
 * written as compressed rows (rowPtr, col, val), and `fits` says whether all were. Returns the
 * count of active entries.
 */
export function activate(
  pre: Float32Array,
  rows: number,
  mk: number,
  i0: number,
  threshold: Float32Array | null,
  out: { rowPtr: Int32Array; col: Int32Array; val: Float32Array },
  limit: number,
): { count: number; fits: boolean } {
  const { rowPtr, col, val } = out;
  let count = 0;
  rowPtr[0] = 0;
  for (let b = 0; b < rows; b++) {
    for (let c = 0, q = b * mk; c < mk; c++, q++) {
      const x = pre[q]!;
      if (x > (threshold ? threshold[c]! : 0)) {
        if (count < limit) {
          col[count] = i0 + c;
          val[count] = x;
        }
        count++;
      } else pre[q] = 0;
    }
    if (count <= limit) rowPtr[b + 1] = count;
  }
  return { count, fits: count <= limit };
}
