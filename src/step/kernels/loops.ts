import { adamRun, type AdamStepConsts } from '../adam.js';

/**
 * The sparse step's host loops, each over a range of features [i0, i1) of an SAE of width m, on
 * row-major float32 arrays in the canonical layout (W_enc [d, m], W_dec [m, d]). The
 * single-threaded sparse step runs them over [0, m); the worker kernel gives each worker a range.
 * Pure functions of their arguments; they write only the outputs named in their documentation.
 *
 * `LoopKernels` is the interface; `jsLoops` the reference implementation in plain JavaScript.
 * A WebAssembly SIMD implementation (simd-loops.ts) computes the same values on arrays that live
 * in its memory and falls back to these for any array that does not.
 */
export interface LoopKernels {
  /** Which implementation this is ('js' or 'simd'), for logs and the benchmark. */
  readonly name: string;
  scan: typeof scanActive;
  decode: typeof decodeActive;
  gradPre: typeof gradPreActive;
  weightGrads: typeof weightGradsRange;
  adam: typeof adamRun;
  /**
   * adam on `rows` ranges of `len` entries, `stride` apart from `start` (a slice's columns of a
   * row-major matrix), in one call; the same values as adam on each range. Only the SIMD kernels
   * have it; false when it did not run (arrays outside their memory, or too short): call adam per range then.
   */
  adamRows?(
    param: Float32Array, grad: Float32Array, mom: Float32Array, vel: Float32Array, start: number, len: number, rows: number, stride: number,
    c: AdamStepConsts,
  ): boolean;
  reluColumns: typeof reluColumns;
  columnSums: typeof columnSums;
  /**
   * A product (ProductArgs; encoderProductArgs for the encoder's), bit for bit what tfjs' matMul
   * gives on wasm. Only the SIMD kernels have it (wasm/gemm.ts); false when it did not run
   * (arrays outside their memory, or too short): use tfjs' product then.
   */
  product?(p: ProductArgs): boolean;
  /**
   * The encoder product for a consumer of its entries above a threshold >= 0 only (ScreenArgs;
   * wasm/screen.ts): those entries are product's to the bit, every other entry is <= 0. Returns
   * the tiles of 4 x 8 it computed in float32, or -1 when it did not run (use product then).
   */
  screenedProduct?(p: ScreenArgs): number;
  /**
   * Rows [r0, r1) of the screened product's left operand (r0 a multiple of 4, r1 one too or M)
   * quantized, packed and bounded into `rows` (screenRowsFloats(M, K) floats) once, for every
   * screenedProduct given ScreenArgs.rows over the same M rows (wasm/screen.ts screenRows):
   * workers that each screen their slice of the features prepare a share of the rows each instead
   * of all of them. Disjoint ranges may be written concurrently. false when it did not run.
   */
  screenRows?(M: number, r0: number, r1: number, K: number, a: Float32Array, lda: number, rows: Float32Array): boolean;
  /**
   * workers/row-reduce.ts centreRows to the bit (wasm/rows.ts). Only the SIMD kernels have it;
   * false when it did not run (arrays outside their memory, or too short): use centreRows then.
   */
  centre?(r0: number, r1: number, d: number, x: Float32Array, b_dec: Float32Array, xc: Float32Array, xSum: Float64Array): boolean;
  /**
   * workers/row-reduce.ts residualRows without AuxK's part (wasm/rows.ts): G and gSum to the bit,
   * the squared error and total variance summed in another order. `at`: the partials' byte offsets
   * (i32) and two float64s of room, in the kernels' memory. Only the SIMD kernels have it; null
   * when it did not run: use residualRows then.
   */
  residual?(
    r0: number, r1: number, rows: number, d: number, partials: Float32Array[], b_dec: Float32Array, x: Float32Array, mean: Float64Array,
    G: Float32Array, gSum: Float64Array, at: RowScratch,
  ): { sse: number; totalVariance: number } | null;
}

/** LoopKernels.residual's room in the kernels' memory: the partials' byte offsets, and its two sums. */
export interface RowScratch {
  table: Int32Array;
  out: Float64Array;
}

/**
 * The screened encoder product (wasm/screen.ts): C = A B + bias with A(i, k) = a[i lda + k],
 * B(k, n) = b[k ldb + n], C(i, n) = c[i ldc + n]. packB: product's right-hand panels for all of
 * K (K x 8 x ceil(N / 8) floats); qPack, qStats: screenScratch(K, N).
 */
export interface ScreenArgs {
  M: number;
  N: number;
  K: number;
  a: Float32Array;
  lda: number;
  b: Float32Array;
  ldb: number;
  bias: Float32Array;
  c: Float32Array;
  ldc: number;
  packB: Float32Array;
  qPack: Float32Array;
  qStats: Float64Array;
  /** A's rows as screenRows prepared them, all M (then a and lda are not read): the same C to the bit. */
  rows?: Float32Array;
}

/** Rows per block of the screened product (MC in wasm/screen.ts). */
const SCREEN_MC = 128;

/** The screened product's scratch for K, N (wasm/screen.ts screenPackBytes, screenStatsBytes): qPack floats, qStats float64s. */
export function screenScratch(K: number, N: number): { qPack: number; qStats: number } {
  const kp = Math.ceil(K / 2);
  const panels = Math.ceil(N / 8);
  return { qPack: kp * 8 * panels + SCREEN_MC * kp + SCREEN_MC * K, qStats: 4 * 8 * panels + 4 * SCREEN_MC };
}

/** Floats of screenRows' output for M rows of K (wasm/screen.ts screenRowsBytes / 4). */
export function screenRowsFloats(M: number, K: number): number {
  const mp = 4 * Math.ceil(M / 4);
  return mp * Math.ceil(K / 2) + mp * K + mp * 8;
}

/** Rows [r0, r1) of worker k of `workers` for screenRows: whole groups of 4 rows (the last range ends at M). */
export function screenRowRange(M: number, workers: number, k: number): [number, number] {
  const groups = Math.ceil(M / 4);
  return [4 * Math.floor((k * groups) / workers), Math.min(M, 4 * Math.floor(((k + 1) * groups) / workers))];
}

/** The encoder product of a slice as ScreenArgs (without its scratch); see encoderProductArgs. */
export function encoderScreenArgs(
  rows: number, d: number, xc: Float32Array, W_enc: Float32Array, m: number, i0: number, mk: number, b_enc: Float32Array, out: Float32Array,
): Omit<ScreenArgs, 'packB' | 'qPack' | 'qStats'> {
  return { M: rows, N: mk, K: d, a: xc, lda: d, b: W_enc.subarray(i0), ldb: m, bias: b_enc.subarray(i0, i0 + mk), c: out, ldc: mk };
}

/**
 * One general product for LoopKernels.product (wasm/gemm.ts gemm): C = op(A) op(B) (+ bias),
 * M x N, summed over k in order in float32 (tfjs' matMul of the same operands gives the same
 * bits). A(i, k) = a[i ars + k acs], B(k, n) = b[k brs + n bcs] (a transposed operand is a
 * stride), C(i, n) = c[i ldc + n]. `kcMax`: k per block (0: PRODUCT_KC); `mask` (one block of
 * k, kcMax >= K): each C(i, n) not > 0 before becomes 0 instead.
 */
export interface ProductArgs {
  M: number;
  N: number;
  K: number;
  a: Float32Array;
  ars: number;
  acs: number;
  b: Float32Array;
  brs: number;
  bcs: number;
  bias?: Float32Array;
  c: Float32Array;
  ldc: number;
  kcMax?: number;
  mask?: boolean;
  packA: Float32Array;
  packB: Float32Array;
}

/** k per block and rows per packed block of A in wasm/gemm.ts (KC, MC there). */
export const PRODUCT_KC = 512;
export const PRODUCT_MC = 128;

/**
 * The encoder product of a slice as ProductArgs (without its scratch): out [rows, mk] =
 * xc [rows, d] W_enc[:, i0:i0+mk] + b_enc[i0:i0+mk], W_enc [d, m] row-major.
 */
export function encoderProductArgs(
  rows: number, d: number, xc: Float32Array, W_enc: Float32Array, m: number, i0: number, mk: number, b_enc: Float32Array, out: Float32Array,
): Omit<ProductArgs, 'packA' | 'packB'> {
  return { M: rows, N: mk, K: d, a: xc, ars: d, acs: 1, b: W_enc.subarray(i0), brs: m, bcs: 1, bias: b_enc.subarray(i0, i0 + mk), c: out, ldc: mk };
}

/** Floats of a product's packA and packB scratch for k up to K (blocks of kcMax, 0: PRODUCT_KC) and N columns. */
export function productPackFloats(K: number, N: number, kcMax = 0): { packA: number; packB: number } {
  const kc = kcMax > 0 ? Math.min(kcMax, K) : Math.min(PRODUCT_KC, K);
  return { packA: PRODUCT_MC * kc, packB: kc * 8 * Math.ceil(N / 8) };
}

/** Compressed sparse rows of the active entries of f restricted to a feature range. */
export interface ActiveRows {
  /** [B + 1] entry offsets per row */
  rowPtr: Int32Array;
  /** [>= nnz] global feature index of each entry */
  col: Int32Array;
  /** [>= nnz] f at each entry (> 0) */
  val: Float32Array;
}

/**
 * Collect the active entries (pre > 0, i.e. f = ReLU(pre) > 0) of a [B, mk] block of
 * pre-activations whose column c is feature i0 + c. Writes rowPtr[0..B], col/val[0..nnz),
 * fired[i] (rows the feature fired in) and fSum[i] (sum of f) for i in [i0, i0 + mk).
 * Returns nnz, or -1 if more than capacity entries are active (outputs then undefined).
 * `rowThreshold` [B] (TopK / BatchTopK, sae/activation.ts): an entry of row b is active iff
 * pre > rowThreshold[b] (each >= 0) instead.
 */
export function scanActive(
  pre: Float32Array,
  B: number,
  mk: number,
  i0: number,
  out: ActiveRows,
  fired: Float32Array,
  fSum: Float64Array,
  capacity: number,
  rowThreshold?: Float32Array,
): number {
  const { rowPtr, col, val } = out;
  for (let c = 0; c < mk; c++) {
    fired[i0 + c] = 0;
    fSum[i0 + c] = 0;
  }
  let nnz = 0;
  rowPtr[0] = 0;
  for (let b = 0; b < B; b++) {
    const base = b * mk;
    const t = rowThreshold ? rowThreshold[b]! : 0;
    for (let c = 0; c < mk; c++) {
      const v = pre[base + c]!;
      if (v > t) {
        if (nnz >= capacity) return -1;
        col[nnz] = i0 + c;
        val[nnz] = v;
        nnz++;
        fired[i0 + c]! += 1;
        fSum[i0 + c]! += v;
      }
    }
    rowPtr[b + 1] = nnz;
  }
  return nnz;
}

/** out[b, :] = sum over active entries k of row b of val[k] W_dec[col[k], :]  (out [B, d], overwritten). */
export function decodeActive(
  B: number,
  d: number,
  rowPtr: Int32Array,
  col: Int32Array,
  val: Float32Array,
  W_dec: Float32Array,
  out: Float32Array,
): void {
  for (let b = 0; b < B; b++) {
    const xo = b * d;
    for (let j = 0; j < d; j++) out[xo + j] = 0;
    for (let k = rowPtr[b]!; k < rowPtr[b + 1]!; k++) {
      const v = val[k]!;
      const wo = col[k]! * d;
      for (let j = 0; j < d; j++) out[xo + j]! += v * W_dec[wo + j]!;
    }
  }
}

/**
 * dL/dpre at the active entries: gPre[k] = <G[b], W_dec[col[k]]> + spars[col[k]] for each entry k
 * of row b, and gb_enc[i] += gPre[k] (gb_enc must be zero on the range beforehand).
 * G [B, d] is dL/dx_hat; spars[i] = l1 c_i / B, the sparsity term's constant.
 */
export function gradPreActive(
  B: number,
  d: number,
  rowPtr: Int32Array,
  col: Int32Array,
  G: Float32Array,
  W_dec: Float32Array,
  spars: Float32Array,
  gPre: Float32Array,
  gb_enc: Float32Array,
): void {
  for (let b = 0; b < B; b++) {
    const xo = b * d;
    for (let k = rowPtr[b]!; k < rowPtr[b + 1]!; k++) {
      const i = col[k]!;
      const wo = i * d;
      let s = 0;
      for (let j = 0; j < d; j++) s += G[xo + j]! * W_dec[wo + j]!;
      const gp = s + spars[i]!;
      gPre[k] = gp;
      gb_enc[i]! += gp;
    }
  }
}

/**
 * The transposed index (CSC) of the entries of features [i0, i1), by counting sort on the
 * feature: for local feature c = i - i0, entries cscPtr[c] .. cscPtr[c + 1] - 1 hold the row
 * (cscRow) and entry index (cscEntry) of each activation, rows ascending.
 * next is scratch of length >= i1 - i0.
 */
export function transposeActive(
  B: number,
  i0: number,
  i1: number,
  rows: ActiveRows,
  fired: Float32Array,
  cscPtr: Int32Array,
  next: Int32Array,
  cscRow: Int32Array,
  cscEntry: Int32Array,
): void {
  const { rowPtr, col } = rows;
  const mk = i1 - i0;
  cscPtr[0] = 0;
  for (let c = 0; c < mk; c++) cscPtr[c + 1] = cscPtr[c]! + fired[i0 + c]!;
  for (let c = 0; c < mk; c++) next[c] = cscPtr[c]!;
  for (let b = 0; b < B; b++) {
    for (let k = rowPtr[b]!; k < rowPtr[b + 1]!; k++) {
      const p = next[col[k]! - i0]!++;
      cscRow[p] = b;
      cscEntry[p] = k;
    }
  }
}

/**
 * Weight gradients of features [i0, i1), one feature at a time:
 *   gW_enc[:, i] = sum_b gPre_bi xc_b      (written strided into gW_enc [d, m])
 *   gW_dec[i, :] = sum_b f_bi G_b + decay_i W_dec[i, :]
 * over the feature's entries (CSC from transposeActive). decay_i is the April update's
 * decoder-norm term (l1 / B) fSum_i / ||W_dec_i|| (pass decay all zero for the plain L1).
 * xc [B, d] is x - b_dec. accE/accD are scratch of length >= d.
 */
export function weightGradsRange(
  i0: number,
  i1: number,
  d: number,
  m: number,
  cscPtr: Int32Array,
  cscRow: Int32Array,
  cscEntry: Int32Array,
  gPre: Float32Array,
  val: Float32Array,
  xc: Float32Array,
  G: Float32Array,
  W_dec: Float32Array,
  decay: Float32Array,
  gW_enc: Float32Array,
  gW_dec: Float32Array,
  accE: Float32Array,
  accD: Float32Array,
): void {
  for (let i = i0; i < i1; i++) {
    for (let j = 0; j < d; j++) {
      accE[j] = 0;
      accD[j] = 0;
    }
    const c = i - i0;
    for (let p = cscPtr[c]!; p < cscPtr[c + 1]!; p++) {
      const xo = cscRow[p]! * d;
      const k = cscEntry[p]!;
      const gp = gPre[k]!;
      const v = val[k]!;
      for (let j = 0; j < d; j++) {
        accE[j]! += gp * xc[xo + j]!;
        accD[j]! += v * G[xo + j]!;
      }
    }
    const dn = decay[i]!;
    const wo = i * d;
    for (let j = 0; j < d; j++) {
      gW_enc[j * m + i] = accE[j]!;
      gW_dec[wo + j] = accD[j]! + dn * W_dec[wo + j]!;
    }
  }
}

/**
 * The dense step's ReLU over a slice's pre-activations [rows, mk], in place: entries not > 0
 * become 0; count[c] and sum[c] (float32, rows added in order) the active entries of column c and
 * their sum.
 */
export function reluColumns(f: Float32Array, rows: number, mk: number, count: Float32Array, sum: Float32Array): void {
  count.fill(0, 0, mk);
  sum.fill(0, 0, mk);
  for (let b = 0; b < rows; b++) {
    const o = b * mk;
    for (let c = 0; c < mk; c++) {
      const x = f[o + c]!;
      if (x > 0) {
        count[c]!++;
        sum[c]! += x;
      } else f[o + c] = 0;
    }
  }
}

/** out[c] = the sum over rows b of f[b, c] ([rows, mk]), in float32, rows added in order (tfjs' ones x M product). */
export function columnSums(f: Float32Array, rows: number, mk: number, out: Float32Array): void {
  out.fill(0, 0, mk);
  for (let b = 0; b < rows; b++) {
    const o = b * mk;
    for (let c = 0; c < mk; c++) out[c]! += f[o + c]!;
  }
}

/** The reference implementation. */
export const jsLoops: LoopKernels = {
  name: 'js',
  scan: scanActive,
  decode: decodeActive,
  gradPre: gradPreActive,
  weightGrads: weightGradsRange,
  adam: adamRun,
  reluColumns,
  columnSums,
};
