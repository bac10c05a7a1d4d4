/**
 * AssemblyScript, not TypeScript: part of loops.wasm (loops.ts re-exports it), excluded from tsc.
 *
 * The screened encoder product: gemm's C = A B + bias (gemm.ts), for a consumer that reads only
 * the entries above a threshold >= 0 (ReLU's active entries). A trained SAE has a fraction of a
 * percent of them, so most of the float32 product decides nothing.
 *
 * The screen: A's rows and B's columns are quantized to 16-bit integers (row i: A(i, k) =
 * s_i qa(i, k) + ea, |ea| <= s_i / 2 (1 + delta); column n likewise with t_n), and their integer
 * product Q = sum_k qa qb runs at twice the float product's rate (i32x4.dot_i16x8_s: 8
 * multiply-adds per instruction). With A_i = sum_k |qa(i, k)| and C_n = sum_k |qb(k, n)|,
 *   |sum_k A(i,k) B(k,n) - s_i t_n Q| <= s_i t_n (1 + delta)^2 (A_i / 2 + C_n / 2 + K / 4),
 * and the float32 sum gemm computes is within (K + 2) 2^-24 (|bias_n| + |A_i|_2 |B_n|_2) of the
 * real one (recursive summation; taken twice over). Every tile of 4 rows x 8 columns with an
 * entry whose upper bound (computed in float64) is not below 0 is computed exactly, by gemm's own
 * microkernel in gemm's order, so its entries equal gemm's to the bit; every other tile's
 * entries are stored as 0 (their values are below 0, ruled out unread). A row or column with a
 * non-finite value, or too small to scale, is never ruled out.
 *
 * Returns the number of tiles computed exactly. Layout as gemm: A(i, k) = a[i lda + k],
 * B(k, n) = b[k ldb + n], C(i, n) = c[i ldc + n], all K in one block.
 *
 * screen quantizes A's rows block by block as it goes. Workers that each screen their own columns
 * against the same A prepare its rows once instead, a share each (screenRows), and each then runs
 * screenRowsProduct over all of them: the same C to the bit.
 */
import { biasLo, packCols, packRows, storeRow, tile } from './gemm';

/** Rows per block of A's quantized rows (MC x ceil(K / 2) pairs stay in L2). */
const MC: i32 = 128;
/** Relative slack of a quantization residual past one half (covers the rounding of x / s). */
const SLACK: f64 = 1.0 + 1.0 / 64.0;

/** The largest quantized magnitude for which K products sum in i32 without overflow. */
function quantLimit(K: i32): i32 {
  const q = <i32>Math.floor(Math.sqrt(2147483647.0 / <f64>max(K, 1))) - 1;
  return min(q, 32766);
}

/** Bytes of screen's packed scratch for K, N: B's i16 panels, a block of A's i16 rows and of its float rows. */
export function screenPackBytes(K: i32, N: i32): i32 {
  const kp = (K + 1) >> 1;
  return kp * 32 * ((N + 7) >> 3) + MC * kp * 4 + MC * K * 4;
}

/** Bytes of screen's float64 scratch for N (4 per padded column, 4 per row of a block). */
export function screenStatsBytes(N: i32): i32 {
  return 8 * (4 * (((N + 7) >> 3) << 3) + 4 * MC);
}

/** (K + 2) 2^-23: twice the float32 summation's relative error bound. */
@inline function roundingTerm(K: i32): f64 {
  return <f64>(K + 2) * 1.1920928955078125e-7;
}

/** The quantization step for a largest magnitude mx (0: no usable step, the row or column stays unscreened). */
@inline function stepOf(mx: f32, Q: i32): f32 {
  const t = mx / <f32>Q;
  const inv = <f32>1 / t;
  return isFinite(mx) && t > 0 && isFinite(inv) ? t : 0;
}

/** q = round(x inv) clamped to [-Q, Q] (NaN to 0), four lanes. */
@inline function quant4(x: v128, inv: v128, Q: v128, negQ: v128): v128 {
  return i32x4.max_s(i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(x, inv))), Q), negQ);
}

/** Add the squares of x's four lanes to two float64 pairs. */
@inline function sq4(x: v128, s: v128): v128 {
  const lo = f64x2.promote_low_f32x4(x);
  const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 0, 1));
  return f64x2.add(s, f64x2.add(f64x2.mul(lo, lo), f64x2.mul(hi, hi)));
}

/**
 * Quantize columns 0 .. N-1 of B into panels of 8 [ceil(N / 8)][ceil(K / 2)][8][2] i16 (k in
 * pairs for dot_i16x8; zero past K and N), and each column's bounds into stats (SoA of NP =
 * 8 ceil(N / 8) float64: t, t C, |B_n|_2, bias + its rounding term; a column past N rules itself out).
 */
function quantCols(N: i32, K: i32, b: usize, ldb: i32, bias: usize, Q: i32, qb: usize, stats: usize): void {
  const KP = (K + 1) >> 1;
  const NP = ((N + 7) >> 3) << 3;
  const np = <usize>NP << 3;
  const row = <usize>ldb << 2;
  const rt = roundingTerm(K);
  const qv = i32x4.splat(Q);
  const nq = i32x4.splat(-Q);
  for (let p = 0; p < N; p += 8) {
    const src = b + (<usize>p << 2);
    // Pass 1: the largest magnitude and the sum of squares per column.
    let m0 = f32x4.splat(0);
    let m1 = f32x4.splat(0);
    let s0 = f64x2.splat(0);
    let s1 = f64x2.splat(0);
    let s2 = f64x2.splat(0);
    let s3 = f64x2.splat(0);
    for (let k = 0; k < K; k++) {
      const r = src + <usize>k * row;
      const w0 = biasLo(r, 0, N - p);
      const w1 = biasLo(r, 4, N - p);
      m0 = f32x4.max(m0, f32x4.abs(w0));
      m1 = f32x4.max(m1, f32x4.abs(w1));
      const l0 = f64x2.promote_low_f32x4(w0);
      const h0 = f64x2.promote_low_f32x4(v128.shuffle<f32>(w0, w0, 2, 3, 0, 1));
      const l1 = f64x2.promote_low_f32x4(w1);
      const h1 = f64x2.promote_low_f32x4(v128.shuffle<f32>(w1, w1, 2, 3, 0, 1));
      s0 = f64x2.add(s0, f64x2.mul(l0, l0));
      s1 = f64x2.add(s1, f64x2.mul(h0, h0));
      s2 = f64x2.add(s2, f64x2.mul(l1, l1));
      s3 = f64x2.add(s3, f64x2.mul(h1, h1));
    }
    // Per column: the step (0 where unusable), its inverse for pass 2, and the stats. The panel's
    // t C slots (written by pass 2) hold the largest magnitudes, then the inverses; its norm slots
    // the sums of squares, each read before its column's norm replaces it.
    const cs = stats + (<usize>p << 3);
    v128.store(cs + np, m0);
    v128.store(cs + np, m1, 16);
    v128.store(cs + 2 * np, s0);
    v128.store(cs + 2 * np, s1, 16);
    v128.store(cs + 2 * np, s2, 32);
    v128.store(cs + 2 * np, s3, 48);
    for (let l = 0; l < 8; l++) {
      const n = p + l;
      const o = cs + (<usize>l << 3);
      const io = cs + np + 32 + (<usize>l << 2);
      if (n >= N) {
        store<f32>(io, 0);
        store<f64>(o, 0);
        store<f64>(o + 2 * np, 0);
        store<f64>(o + 3 * np, -Infinity);
        continue;
      }
      const m = load<f32>(cs + np + (<usize>l << 2));
      const sq = load<f64>(o + 2 * np);
      const t = stepOf(m, Q);
      const bn = <f64>load<f32>(bias + (<usize>n << 2));
      const usable = t > 0 || m == 0;
      store<f32>(io, t > 0 ? <f32>1 / t : 0);
      store<f64>(o, <f64>t);
      store<f64>(o + 2 * np, usable ? Math.sqrt(sq * (1 + 1e-9)) : 0);
      store<f64>(o + 3 * np, usable ? bn + rt * Math.abs(bn) + <f64>K * 7.2e-43 : Infinity);
    }
    const i0 = v128.load(cs + np, 32);
    const i1 = v128.load(cs + np, 48);
    // Pass 2: the quantized pairs and C per column.
    const dst = qb + <usize>p * <usize>KP * 4;
    let c0 = i32x4.splat(0);
    let c1 = i32x4.splat(0);
    for (let kp = 0; kp < KP; kp++) {
      const k = kp << 1;
      const r0 = src + <usize>k * row;
      const q00 = quant4(biasLo(r0, 0, N - p), i0, qv, nq);
      const q01 = quant4(biasLo(r0, 4, N - p), i1, qv, nq);
      let q10 = i32x4.splat(0);
      let q11 = i32x4.splat(0);
      if (k + 1 < K) {
        const r1 = r0 + row;
        q10 = quant4(biasLo(r1, 0, N - p), i0, qv, nq);
        q11 = quant4(biasLo(r1, 4, N - p), i1, qv, nq);
      }
      c0 = i32x4.add(c0, i32x4.add(i32x4.abs(q00), i32x4.abs(q10)));
      c1 = i32x4.add(c1, i32x4.add(i32x4.abs(q01), i32x4.abs(q11)));
      const e = i16x8.narrow_i32x4_s(q00, q01);
      const f = i16x8.narrow_i32x4_s(q10, q11);
      const o = dst + (<usize>kp << 5);
      v128.store(o, v128.shuffle<i16>(e, f, 0, 8, 1, 9, 2, 10, 3, 11));
      v128.store(o, v128.shuffle<i16>(e, f, 4, 12, 5, 13, 6, 14, 7, 15), 16);
    }
    const tc0 = f64x2.mul(v128.load(cs), f64x2.convert_low_i32x4_s(c0));
    const tc1 = f64x2.mul(v128.load(cs, 16), f64x2.convert_low_i32x4_s(v128.shuffle<i32>(c0, c0, 2, 3, 0, 1)));
    const tc2 = f64x2.mul(v128.load(cs, 32), f64x2.convert_low_i32x4_s(c1));
    const tc3 = f64x2.mul(v128.load(cs, 48), f64x2.convert_low_i32x4_s(v128.shuffle<i32>(c1, c1, 2, 3, 0, 1)));
    v128.store(cs + np, tc0);
    v128.store(cs + np, tc1, 16);
    v128.store(cs + np, tc2, 32);
    v128.store(cs + np, tc3, 48);
  }
}

/**
 * Quantize rows i0 .. i0 + mc of A into groups of 4 [ceil(mc / 4)][ceil(K / 2)][4][2] i16 (zero
 * past K and M), and each row's bounds into stats (SoA, mb bytes apart, of float64: s (1 + slack)^2 (A / 2 +
 * K / 4), s (1 + slack)^2 / 2, the rounding term times |A_i|_2, s; an unusable row: +inf, 0, 0, 0).
 */
function quantRows(M: i32, i0: i32, mc: i32, K: i32, a: usize, lda: i32, Q: i32, qa: usize, stats: usize, mb: usize): void {
  const KP = (K + 1) >> 1;
  const rt = roundingTerm(K);
  const qv = i32x4.splat(Q);
  const nq = i32x4.splat(-Q);
  const groups = (mc + 3) >> 2;
  for (let r = 0; r < groups * 4; r++) {
    const i = i0 + r;
    const g = qa + <usize>(r >> 2) * <usize>KP * 16 + (<usize>(r & 3) << 2);
    if (i >= M) {
      for (let kp = 0; kp < KP; kp++) store<i32>(g + (<usize>kp << 4), 0);
      continue;
    }
    const src = a + ((<usize>i * <usize>lda) << 2);
    let mv = f32x4.splat(0);
    let sv = f64x2.splat(0);
    const k4 = K & ~3;
    for (let k = 0; k < k4; k += 4) {
      const x = v128.load(src + (<usize>k << 2));
      mv = f32x4.max(mv, f32x4.abs(x));
      sv = sq4(x, sv);
    }
    // wasm's max gives NaN when either operand is NaN: a NaN anywhere makes mx NaN, the row unusable.
    let mx = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
    let sq = f64x2.extract_lane(sv, 0) + f64x2.extract_lane(sv, 1);
    for (let k = k4; k < K; k++) {
      const x = load<f32>(src + (<usize>k << 2));
      mx = max(mx, abs(x));
      sq += <f64>x * <f64>x;
    }
    const s = stepOf(mx, Q);
    const usable = s > 0 || mx == 0;
    const inv = f32x4.splat(s > 0 ? <f32>1 / s : 0);
    // Pairs of k as i32 lanes: 8 k per pass, four pairs stored 16 bytes apart.
    let aSum = i32x4.splat(0);
    const k8 = K & ~7;
    for (let k = 0; k < k8; k += 8) {
      const q0 = quant4(v128.load(src + (<usize>k << 2)), inv, qv, nq);
      const q1 = quant4(v128.load(src + (<usize>k << 2), 16), inv, qv, nq);
      aSum = i32x4.add(aSum, i32x4.add(i32x4.abs(q0), i32x4.abs(q1)));
      const pr = i16x8.narrow_i32x4_s(q0, q1);
      const o = g + (<usize>(k >> 1) << 4);
      store<i32>(o, i32x4.extract_lane(pr, 0));
      store<i32>(o, i32x4.extract_lane(pr, 1), 16);
      store<i32>(o, i32x4.extract_lane(pr, 2), 32);
      store<i32>(o, i32x4.extract_lane(pr, 3), 48);
    }
    let aTotal = i32x4.extract_lane(aSum, 0) + i32x4.extract_lane(aSum, 1) + i32x4.extract_lane(aSum, 2) + i32x4.extract_lane(aSum, 3);
    for (let k = k8; k < K; k += 2) {
      const v0 = quant4(f32x4.splat(load<f32>(src + (<usize>k << 2))), inv, qv, nq);
      const v1 = k + 1 < K ? quant4(f32x4.splat(load<f32>(src + (<usize>(k + 1) << 2))), inv, qv, nq) : i32x4.splat(0);
      const q0 = i32x4.extract_lane(v0, 0);
      const q1 = i32x4.extract_lane(v1, 0);
      aTotal += abs(q0) + abs(q1);
      store<i32>(g + (<usize>(k >> 1) << 4), (q0 & 0xffff) | (q1 << 16));
    }
    const o = stats + (<usize>r << 3);
    if (!usable) {
      store<f64>(o, Infinity);
      store<f64>(o + mb, 0);
      store<f64>(o + 2 * mb, 0);
      store<f64>(o + 3 * mb, 0);
      continue;
    }
    const sl = <f64>s * SLACK * SLACK;
    store<f64>(o, sl * (0.5 * <f64>aTotal + 0.25 * <f64>K));
    store<f64>(o + mb, 0.5 * sl);
    store<f64>(o + 2 * mb, rt * Math.sqrt(sq * (1 + 1e-9)));
    store<f64>(o + 3 * mb, <f64>s);
  }
}

/** All-ones lanes where the bound of both entries (columns at c, c + 1) is below 0. */
@inline function belowPair(Q: v128, s: v128, al: v128, be: v128, ga: v128, c: usize, np: usize): v128 {
  const v = f64x2.add(
    f64x2.add(f64x2.mul(v128.load(c), f64x2.add(f64x2.mul(Q, s), al)), f64x2.mul(be, v128.load(c + np))),
    f64x2.add(f64x2.mul(ga, v128.load(c + 2 * np)), v128.load(c + 3 * np)),
  );
  return f64x2.lt(v, f64x2.splat(0));
}

/** All-ones lanes where a row's 8 entries (accumulators lo, hi) are all below 0; rs: the row's stats, cs: the panel's. */
@inline function belowRow(lo: v128, hi: v128, rs: usize, mb: usize, cs: usize, np: usize): v128 {
  const s = f64x2.splat(load<f64>(rs + 3 * mb));
  const al = f64x2.splat(load<f64>(rs));
  const be = f64x2.splat(load<f64>(rs + mb));
  const ga = f64x2.splat(load<f64>(rs + 2 * mb));
  let r = belowPair(f64x2.convert_low_i32x4_s(lo), s, al, be, ga, cs, np);
  r = v128.and(r, belowPair(f64x2.convert_low_i32x4_s(v128.shuffle<i32>(lo, lo, 2, 3, 0, 1)), s, al, be, ga, cs + 16, np));
  r = v128.and(r, belowPair(f64x2.convert_low_i32x4_s(hi), s, al, be, ga, cs + 32, np));
  return v128.and(r, belowPair(f64x2.convert_low_i32x4_s(v128.shuffle<i32>(hi, hi, 2, 3, 0, 1)), s, al, be, ga, cs + 48, np));
}

/**
 * C = A B + bias where it can be above 0, 0 where it cannot (see the top of this file).
 * packB: K x 8 x ceil(N / 8) floats (gemm's panels); qpack: screenPackBytes(K, N) bytes;
 * stats: screenStatsBytes(N) bytes. Returns the tiles computed exactly.
 */
export function screen(
  M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32, bias: usize, c: usize, ldc: i32,
  packB: usize, qpack: usize, stats: usize,
): i32 {
  const Q = quantLimit(K);
  const KP = (K + 1) >> 1;
  const NP = ((N + 7) >> 3) << 3;
  const np = <usize>NP << 3;
  const mb = <usize>MC << 3;
  const qa = qpack + <usize>KP * 32 * <usize>(NP >> 3);
  const fa = qa + <usize>MC * <usize>KP * 4;
  const rowStats = stats + 4 * np;
  packCols(N, 0, K, b, ldb, 1, packB);
  quantCols(N, K, b, ldb, bias, Q, qpack, stats);
  let exact = 0;
  for (let i0 = 0; i0 < M; i0 += MC) {
    const mc = min(MC, M - i0);
    quantRows(M, i0, mc, K, a, lda, Q, qa, rowStats, mb);
    packRows(M, i0, mc, 0, K, a, lda, 1, fa);
    exact += screenBlock(M, N, K, i0, mc, bias, c, ldc, packB, qpack, stats, qa, fa, rowStats, mb);
  }
  return exact;
}

/** Bytes of screenRows' output for M rows of K: the quantized rows, the packed float rows, and their bounds. */
export function screenRowsBytes(M: i32, K: i32): i32 {
  const mp = ((M + 3) >> 2) << 2;
  return mp * ((K + 1) >> 1) * 4 + mp * K * 4 + mp * 4 * 8;
}

/**
 * Rows r0 .. r1 of A (r0 a multiple of 4; r1 one too, or M) quantized, packed and bounded once
 * for every screenRowsProduct over them: the same work screen does per block of rows, into
 * `rows` (screenRowsBytes(M, K) bytes, one region for all M rows). Disjoint row ranges may be
 * written concurrently.
 */
export function screenRows(M: i32, r0: i32, r1: i32, K: i32, a: usize, lda: i32, rows: usize): void {
  if (r1 <= r0) return;
  const qa = rows + <usize>(r0 >> 2) * <usize>((K + 1) >> 1) * 16;
  quantRows(M, r0, r1 - r0, K, a, lda, quantLimit(K), qa, rowsStats(M, K, rows) + (<usize>r0 << 3), rowsMp(M) << 3);
  packRows(M, r0, r1 - r0, 0, K, a, lda, 1, rowsFa(M, K, rows) + ((<usize>r0 * <usize>K) << 2));
}

/**
 * screen over rows that screenRows prepared (all M of them, from the same A): the same C to the
 * bit and the same count, without quantizing and packing A's rows again. qpack and stats as
 * screen's (its rows' parts unused).
 */
export function screenRowsProduct(
  M: i32, N: i32, K: i32, b: usize, ldb: i32, bias: usize, c: usize, ldc: i32, packB: usize, qpack: usize, stats: usize, rows: usize,
): i32 {
  packCols(N, 0, K, b, ldb, 1, packB);
  quantCols(N, K, b, ldb, bias, quantLimit(K), qpack, stats);
  const KP = (K + 1) >> 1;
  let exact = 0;
  for (let i0 = 0; i0 < M; i0 += MC) {
    const mc = min(MC, M - i0);
    const qa = rows + <usize>(i0 >> 2) * <usize>KP * 16;
    const fa = rowsFa(M, K, rows) + ((<usize>i0 * <usize>K) << 2);
    exact += screenBlock(M, N, K, i0, mc, bias, c, ldc, packB, qpack, stats, qa, fa, rowsStats(M, K, rows) + (<usize>i0 << 3), rowsMp(M) << 3);
  }
  return exact;
}

// screenRows' region for M rows of K: the quantized rows at its start (KP = ceil(K / 2) i32 pairs
// per row), then the packed float rows (K floats per row), then the bounds (SoA, 4 float64 arrays of
// mp = M rounded up to 4 rows, mp 8 bytes apart).
@inline function rowsMp(M: i32): usize {
  return <usize>(((M + 3) >> 2) << 2);
}
@inline function rowsFa(M: i32, K: i32, rows: usize): usize {
  return rows + rowsMp(M) * <usize>((K + 1) >> 1) * 4;
}
@inline function rowsStats(M: i32, K: i32, rows: usize): usize {
  return rowsFa(M, K, rows) + ((rowsMp(M) * <usize>K) << 2);
}

/**
 * Rows i0 .. i0 + mc (a block) of screen's C: every tile of 4 x 8 whose bound is not below 0 by
 * gemm's microkernel, every other one 0. qa, fa: the block's quantized and packed rows; rs: its
 * rows' bounds, mb bytes apart; qb, stats: the columns' (quantCols). Returns the exact tiles.
 */
function screenBlock(
  M: i32, N: i32, K: i32, i0: i32, mc: i32, bias: usize, c: usize, ldc: i32, packB: usize, qb: usize, stats: usize,
  qa: usize, fa: usize, rowStats: usize, mb: usize,
): i32 {
  const KP = (K + 1) >> 1;
  const NP = ((N + 7) >> 3) << 3;
  const np = <usize>NP << 3;
  const rc = <usize>ldc << 2;
  const zero = f32x4.splat(0);
  let exact = 0;
  for (let p = 0; p < N; p += 8) {
    const panelQ = qb + <usize>p * <usize>KP * 4;
    const cs = stats + (<usize>p << 3);
    for (let g = 0; g < mc; g += 4) {
      let x00 = i32x4.splat(0), x01 = i32x4.splat(0), x10 = i32x4.splat(0), x11 = i32x4.splat(0);
      let x20 = i32x4.splat(0), x21 = i32x4.splat(0), x30 = i32x4.splat(0), x31 = i32x4.splat(0);
      let ap = qa + <usize>g * <usize>KP * 4;
      let bp = panelQ;
      const end = ap + (<usize>KP << 4);
      while (ap < end) {
        const w0 = v128.load(bp);
        const w1 = v128.load(bp, 16);
        let v = v128.load32_splat(ap);
        x00 = i32x4.add(x00, i32x4.dot_i16x8_s(v, w0));
        x01 = i32x4.add(x01, i32x4.dot_i16x8_s(v, w1));
        v = v128.load32_splat(ap, 4);
        x10 = i32x4.add(x10, i32x4.dot_i16x8_s(v, w0));
        x11 = i32x4.add(x11, i32x4.dot_i16x8_s(v, w1));
        v = v128.load32_splat(ap, 8);
        x20 = i32x4.add(x20, i32x4.dot_i16x8_s(v, w0));
        x21 = i32x4.add(x21, i32x4.dot_i16x8_s(v, w1));
        v = v128.load32_splat(ap, 12);
        x30 = i32x4.add(x30, i32x4.dot_i16x8_s(v, w0));
        x31 = i32x4.add(x31, i32x4.dot_i16x8_s(v, w1));
        ap += 16;
        bp += 32;
      }
      const i = i0 + g;
      const rows = min(4, M - i);
      const rs = rowStats + (<usize>g << 3);
      let below = belowRow(x00, x01, rs, mb, cs, np);
      if (rows > 1) below = v128.and(below, belowRow(x10, x11, rs + 8, mb, cs, np));
      if (rows > 2) below = v128.and(below, belowRow(x20, x21, rs + 16, mb, cs, np));
      if (rows > 3) below = v128.and(below, belowRow(x30, x31, rs + 24, mb, cs, np));
      if (!i64x2.all_true(below)) {
        // gemm's own tile: from the bias, k = 0 .. K-1 in order.
        tile(fa + <usize>g * <usize>K * 4, packB + <usize>p * <usize>K * 4, K, c + <usize>i * rc + (<usize>p << 2), rc, rows, N - p, true, true, biasLo(bias, p, N), biasLo(bias, p + 4, N), false);
        exact++;
        continue;
      }
      const c0 = c + <usize>i * rc + (<usize>p << 2);
      const cnt = N - p;
      storeRow(c0, zero, zero, cnt);
      if (rows > 1) storeRow(c0 + rc, zero, zero, cnt);
      if (rows > 2) storeRow(c0 + 2 * rc, zero, zero, cnt);
      if (rows > 3) storeRow(c0 + 3 * rc, zero, zero, cnt);
    }
  }
  return exact;
}
