/**
 * AssemblyScript, not TypeScript: part of loops.wasm (loops.ts re-exports it), excluded from tsc.
 *
 * The workers' products in WebAssembly SIMD (the sparse step's encoder product, the ReLU dense
 * step's five). Each output starts at its bias (or 0) and adds a[i, k] b[k, n] for k = 0, 1, ...
 * in float32, one multiply and one add at a time: the order and rounding of XNNPACK's f32 GEMM
 * (what tfjs' matMul runs on wasm), so the result is the same to the bit.
 *
 * Layout: B's columns are copied into panels of 8 ([k][8], the last one zero-padded) and A's
 * rows into groups of 4 ([k][4]); each tile of 4 rows x 8 columns keeps its 8 accumulators in
 * registers while k runs over a panel (16 KB at k = 512: it stays in L1). Rows go in blocks of
 * MC whose packed A stays in L2 while every panel passes over it; k in blocks of KC, the partial
 * sums waiting in C. At [4096, 512] x [512, 4096] on one thread: 1.9-2.0x tfjs' product
 * (BENCHMARKS.md).
 */

/** The bias of a panel's 8 columns (0 past n) as two vectors. */
@inline export function biasLo(bias: usize, p: i32, n: i32): v128 {
  if (p + 4 <= n) return v128.load(bias + (<usize>p << 2));
  let v = f32x4.splat(0);
  if (p < n) v = f32x4.replace_lane(v, 0, load<f32>(bias + (<usize>p << 2)));
  if (p + 1 < n) v = f32x4.replace_lane(v, 1, load<f32>(bias + (<usize>(p + 1) << 2)));
  if (p + 2 < n) v = f32x4.replace_lane(v, 2, load<f32>(bias + (<usize>(p + 2) << 2)));
  return v;
}

/** Store the first cnt (< 8 allowed) of a row's 8 results. */
@inline export function storeRow(o: usize, lo: v128, hi: v128, cnt: i32): void {
  if (cnt >= 8) {
    v128.store(o, lo);
    v128.store(o, hi, 16);
    return;
  }
  if (cnt > 0) store<f32>(o, f32x4.extract_lane(lo, 0));
  if (cnt > 1) store<f32>(o, f32x4.extract_lane(lo, 1), 4);
  if (cnt > 2) store<f32>(o, f32x4.extract_lane(lo, 2), 8);
  if (cnt > 3) store<f32>(o, f32x4.extract_lane(lo, 3), 12);
  if (cnt > 4) store<f32>(o, f32x4.extract_lane(hi, 0), 16);
  if (cnt > 5) store<f32>(o, f32x4.extract_lane(hi, 1), 20);
  if (cnt > 6) store<f32>(o, f32x4.extract_lane(hi, 2), 24);
}

/** k per packed block of the general product (gemm), unless the caller asks for one block (PRODUCT_KC in ../loops.ts). */
const KC: i32 = 512;
/** Rows per packed block of A in gemm (128 x 512 floats = 256 KB, in L2; PRODUCT_MC in ../loops.ts). */
const MC: i32 = 128;

/**
 * Pack rows i0 .. i0 + mc of A, columns p0 .. p0 + kc, into groups of 4 rows [ceil(mc / 4)][kc][4]
 * (rows past M zero). A(i, k) is at a + (i ars + k acs) floats.
 */
export function packRows(M: i32, i0: i32, mc: i32, p0: i32, kc: i32, a: usize, ars: i32, acs: i32, pack: usize): void {
  for (let g = 0; g < mc; g += 4) {
    const dst = pack + ((<usize>g * <usize>kc) << 2);
    const i = i0 + g;
    if (ars == 1 && i + 4 <= M) {
      // Four adjacent rows of a transposed source: one vector per k.
      let src = a + ((<usize>i + <usize>p0 * <usize>acs) << 2);
      const step = <usize>acs << 2;
      for (let k = 0; k < kc; k++) {
        v128.store(dst + (<usize>k << 4), v128.load(src));
        src += step;
      }
      continue;
    }
    for (let r = 0; r < 4; r++) {
      const row = i + r;
      for (let k = 0; k < kc; k++) {
        store<f32>(dst + ((<usize>k * 4 + r) << 2), row < M ? load<f32>(a + ((<usize>row * <usize>ars + <usize>(p0 + k) * <usize>acs) << 2)) : 0);
      }
    }
  }
}

/**
 * Pack rows p0 .. p0 + kc of B, all N columns, into panels of 8 columns [ceil(N / 8)][kc][8]
 * (columns past N zero). B(k, n) is at b + (k brs + n bcs) floats.
 */
export function packCols(N: i32, p0: i32, kc: i32, b: usize, brs: i32, bcs: i32, pack: usize): void {
  for (let p = 0; p < N; p += 8) {
    const dst = pack + ((<usize>p * <usize>kc) << 2);
    if (bcs == 1 && p + 8 <= N) {
      let src = b + ((<usize>p0 * <usize>brs + <usize>p) << 2);
      const step = <usize>brs << 2;
      for (let k = 0; k < kc; k++) {
        const o = dst + (<usize>k << 5);
        v128.store(o, v128.load(src));
        v128.store(o, v128.load(src, 16), 16);
        src += step;
      }
      continue;
    }
    for (let j = 0; j < 8; j++) {
      const n = p + j;
      for (let k = 0; k < kc; k++) {
        store<f32>(dst + ((<usize>k * 8 + j) << 2), n < N ? load<f32>(b + ((<usize>(p0 + k) * <usize>brs + <usize>n * <usize>bcs) << 2)) : 0);
      }
    }
  }
}

/** A row's 8 accumulators at the start of a k block: C's partial sums, the bias, or zero. */
@inline function startLo(c: usize, valid: bool, first: bool, hasBias: bool, bl: v128, cnt: i32): v128 {
  if (first) return hasBias ? bl : f32x4.splat(0);
  if (!valid) return f32x4.splat(0);
  if (cnt >= 4) return v128.load(c);
  let v = f32x4.splat(0);
  if (cnt > 0) v = f32x4.replace_lane(v, 0, load<f32>(c));
  if (cnt > 1) v = f32x4.replace_lane(v, 1, load<f32>(c, 4));
  if (cnt > 2) v = f32x4.replace_lane(v, 2, load<f32>(c, 8));
  return v;
}

/** Zero the lanes whose old value (a row of C before the product) is not > 0. */
@inline function maskPositive(acc: v128, old: v128): v128 {
  return v128.and(acc, f32x4.gt(old, f32x4.splat(0)));
}

/** Store a tile row: cnt of its 8 columns; with `mask`, each where C held a value > 0 before, else 0. */
@inline function finishRow(c: usize, lo: v128, hi: v128, cnt: i32, mask: bool): void {
  if (mask) {
    if (cnt >= 8) {
      lo = maskPositive(lo, v128.load(c));
      hi = maskPositive(hi, v128.load(c, 16));
    } else {
      // A partial tile: through the scalar stores below, lane by lane.
      let old = f32x4.splat(0);
      if (cnt > 0) old = f32x4.replace_lane(old, 0, load<f32>(c));
      if (cnt > 1) old = f32x4.replace_lane(old, 1, load<f32>(c, 4));
      if (cnt > 2) old = f32x4.replace_lane(old, 2, load<f32>(c, 8));
      if (cnt > 3) old = f32x4.replace_lane(old, 3, load<f32>(c, 12));
      lo = maskPositive(lo, old);
      old = f32x4.splat(0);
      if (cnt > 4) old = f32x4.replace_lane(old, 0, load<f32>(c, 16));
      if (cnt > 5) old = f32x4.replace_lane(old, 1, load<f32>(c, 20));
      if (cnt > 6) old = f32x4.replace_lane(old, 2, load<f32>(c, 24));
      hi = maskPositive(hi, old);
    }
  }
  storeRow(c, lo, hi, cnt);
}

/**
 * One tile of 4 rows x 8 columns over a block of kc: group (the rows' packed [kc][4]) times panel
 * ([kc][8]) into C at c0 (rows cRow bytes apart; `rows` (<= 4) and `cnt` of them real). Each
 * accumulator starts at C's partial sum, or on the first block at the bias (bl, bh) or 0, and adds
 * one multiply at a time for k = 0 .. kc-1: XNNPACK's order. `mask`: as gemm's.
 */
@inline export function tile(
  group: usize, panel: usize, kc: i32, c0: usize, cRow: usize, rows: i32, cnt: i32, first: bool, hasBias: bool, bl: v128, bh: v128,
  mask: bool,
): void {
  const c1 = c0 + cRow;
  const c2 = c1 + cRow;
  const c3 = c2 + cRow;
  const v1 = rows > 1;
  const v2 = rows > 2;
  const v3 = rows > 3;
  let x00 = startLo(c0, true, first, hasBias, bl, cnt);
  let x01 = startLo(c0 + 16, true, first, hasBias, bh, cnt - 4);
  let x10 = startLo(c1, v1, first, hasBias, bl, cnt);
  let x11 = startLo(c1 + 16, v1, first, hasBias, bh, cnt - 4);
  let x20 = startLo(c2, v2, first, hasBias, bl, cnt);
  let x21 = startLo(c2 + 16, v2, first, hasBias, bh, cnt - 4);
  let x30 = startLo(c3, v3, first, hasBias, bl, cnt);
  let x31 = startLo(c3 + 16, v3, first, hasBias, bh, cnt - 4);
  let ap = group;
  let bp = panel;
  const end = ap + (<usize>kc << 4);
  while (ap < end) {
    const w0 = v128.load(bp);
    const w1 = v128.load(bp, 16);
    let v = v128.load32_splat(ap);
    x00 = f32x4.add(x00, f32x4.mul(v, w0));
    x01 = f32x4.add(x01, f32x4.mul(v, w1));
    v = v128.load32_splat(ap, 4);
    x10 = f32x4.add(x10, f32x4.mul(v, w0));
    x11 = f32x4.add(x11, f32x4.mul(v, w1));
    v = v128.load32_splat(ap, 8);
    x20 = f32x4.add(x20, f32x4.mul(v, w0));
    x21 = f32x4.add(x21, f32x4.mul(v, w1));
    v = v128.load32_splat(ap, 12);
    x30 = f32x4.add(x30, f32x4.mul(v, w0));
    x31 = f32x4.add(x31, f32x4.mul(v, w1));
    ap += 16;
    bp += 32;
  }
  finishRow(c0, x00, x01, cnt, mask);
  if (v1) finishRow(c1, x10, x11, cnt, mask);
  if (v2) finishRow(c2, x20, x21, cnt, mask);
  if (v3) finishRow(c3, x30, x31, cnt, mask);
}

/**
 * C = op(A) op(B) (+ bias[n] per column), M x N, summed over k = 0 .. K-1 in order in float32 as
 * XNNPACK does (so tfjs' matMul of the same operands, transposed or not, gives the same bits).
 * A(i, k) at a + (i ars + k acs) floats and B(k, n) at b + (k brs + n bcs): a transposed
 * operand is a stride. C(i, n) at c + i ldc + n. k runs in blocks of kcMax (at most K; 0: KC);
 * between blocks the partial sums wait in C, which keeps the order. `mask` (needs one k block):
 * each C(i, n) that was not > 0 before the product becomes 0 (the ReLU gradient's mask, with C
 * holding f). packA: MC x kc floats; packB: kc x 8 x ceil(N / 8).
 */
export function gemm(
  M: i32, N: i32, K: i32, a: usize, ars: i32, acs: i32, b: usize, brs: i32, bcs: i32,
  hasBias: bool, bias: usize, c: usize, ldc: i32, kcMax: i32, mask: bool, packA: usize, packB: usize,
): void {
  const kcStep = kcMax > 0 ? min(kcMax, K) : KC;
  const cRow = <usize>ldc << 2;
  for (let p0 = 0; p0 < K; p0 += kcStep) {
    const kc = min(kcStep, K - p0);
    const first = p0 == 0;
    packCols(N, p0, kc, b, brs, bcs, packB);
    for (let i0 = 0; i0 < M; i0 += MC) {
      const mc = min(MC, M - i0);
      packRows(M, i0, mc, p0, kc, a, ars, acs, packA);
      for (let p = 0; p < N; p += 8) {
        const panel = packB + ((<usize>p * <usize>kc) << 2);
        const cnt = N - p;
        const bl = hasBias ? biasLo(bias, p, N) : f32x4.splat(0);
        const bh = hasBias ? biasLo(bias, p + 4, N) : f32x4.splat(0);
        for (let g = 0; g < mc; g += 4) {
          const i = i0 + g;
          tile(packA + ((<usize>g * <usize>kc) << 2), panel, kc, c + <usize>i * cRow + (<usize>p << 2), cRow, min(4, M - i), cnt, first, hasBias, bl, bh, mask);
        }
      }
    }
  }
}
