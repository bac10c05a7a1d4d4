import { encoderProductArgs, type LoopKernels, type ProductArgs } from '../kernels/loops.js';
import { InternalError } from '../../errors.js';
import type { SharedLayout, SliceViews, StateViews } from './layout.js';

/**
 * The dense formulation of a worker's share of a ReLU step (slice-dense.ts' DenseSlice) with the
 * products in WebAssembly SIMD on the shared memory (wasm/gemm.ts) instead of tfjs, and the
 * element-wise work in host loops. Every product sums over k in order in float32 as XNNPACK does
 * and the column sums add row by row in float32 as tfjs' ones x M product does, so the step is
 * the same to the bit as DenseSlice's (tested). The column passes (ReLU with its counts and sums,
 * gb_enc's sums) are the kernels' too (wasm/columns.ts). f lives in the slice's `pre` from encode to
 * backward, where the masked dL/dpre replaces it.
 */
export class HostDenseSlice {
  private readonly colSum: Float32Array;
  private readonly colCount: Float32Array;

  constructor(
    private readonly layout: SharedLayout,
    private readonly s: StateViews,
    private readonly v: SliceViews,
    private readonly i0: number,
    private readonly i1: number,
    private readonly loops: LoopKernels,
  ) {
    this.colCount = v.colStat.subarray(0, i1 - i0);
    this.colSum = v.colStat.subarray(i1 - i0, 2 * (i1 - i0));
  }

  /** Whether these kernels can run it (the SIMD ones). */
  static available(loops: LoopKernels): boolean {
    return loops.product !== undefined;
  }

  private product(p: Omit<ProductArgs, 'packA' | 'packB'>): void {
    if (!this.loops.product!({ ...p, packA: this.v.aPack, packB: this.v.wPack })) {
      throw new InternalError(`the dense slice's product ${p.M} x ${p.K} x ${p.N} did not run on the SIMD kernels (arrays outside the shared memory or too short)`);
    }
  }

  /**
   * f = relu(xc W_enc[:, slice] + b_enc[slice]) into the slice's pre, fired counts and fSum of its
   * features, and the partial reconstruction f W_dec[slice] into `partial`. Returns the slice's
   * active entries.
   */
  encode(rows: number): number {
    const { d, m } = this.layout;
    const { i0, i1, s, v } = this;
    const mk = i1 - i0;
    this.product(encoderProductArgs(rows, d, s.xc, s.W_enc, m, i0, mk, s.b_enc, v.pre));
    const f = v.pre;
    const sum = this.colSum;
    const count = this.colCount;
    this.loops.reluColumns(f, rows, mk, count, sum);
    let nnz = 0;
    for (let c = 0; c < mk; c++) {
      s.fired[i0 + c] = count[c]!;
      v.fSum[i0 + c] = sum[c]!;
      nnz += count[c]!;
    }
    this.product({ M: rows, N: d, K: mk, a: f, ars: mk, acs: 1, b: s.W_dec.subarray(i0 * d), brs: d, bcs: 1, c: v.partial, ldc: d });
    return nnz;
  }

  /**
   * Given G (shared) and the slice's spars/decay, its gradients into the shared gW_enc columns,
   * gb_enc entries and gW_dec rows (decay term included), as DenseSlice.backward.
   */
  backward(rows: number): void {
    const { d, m } = this.layout;
    const { i0, i1, s, v } = this;
    const mk = i1 - i0;
    const f = v.pre;
    const W_dec = s.W_dec.subarray(i0 * d, i1 * d);
    // gW_dec = f^T G (+ decay W_dec), while f is still there.
    const gW_dec = s.gW_dec.subarray(i0 * d, i1 * d);
    this.product({ M: mk, N: d, K: rows, a: f, ars: 1, acs: mk, b: s.G, brs: d, bcs: 1, c: gW_dec, ldc: d });
    for (let c = 0; c < mk; c++) {
      const dn = s.decay[i0 + c]!;
      for (let j = 0; j < d; j++) gW_dec[c * d + j] = gW_dec[c * d + j]! + dn * W_dec[c * d + j]!;
    }
    // dL/dpre = (G W_dec[slice]^T + spars) where f > 0, else 0: over f, in place.
    this.product({ M: rows, N: mk, K: d, a: s.G, ars: d, acs: 1, b: W_dec, brs: 1, bcs: d, bias: s.spars.subarray(i0, i1), c: f, ldc: mk, kcMax: d, mask: true });
    this.loops.columnSums(f, rows, mk, this.colSum);
    s.gb_enc.set(this.colSum, i0);
    // gW_enc[:, slice] = xc^T dL/dpre, as its transpose [mk, d] first.
    this.product({ M: mk, N: d, K: rows, a: f, ars: 1, acs: mk, b: s.xc, brs: d, bcs: 1, c: v.gT, ldc: d });
    const gT = v.gT;
    for (let c = 0; c < mk; c++) for (let j = 0; j < d; j++) s.gW_enc[j * m + i0 + c] = gT[c * d + j]!;
  }
}
