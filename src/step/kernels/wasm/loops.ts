/**
 * AssemblyScript, not TypeScript: compiled by `asc` at build time (package.json "build") to
 * dist/step/kernels/wasm/loops.wasm, and excluded from tsc.
 *
 * WebAssembly SIMD versions of the sparse step's host loops. ../loops.ts is the reference and
 * documents each function; these compute the same values with f32x4 arithmetic (float32
 * accumulation, so the last bits differ from the reference's float64 temporaries).
 * Array arguments are byte addresses in the imported shared memory (the worker kernel's Arena);
 * several threads run instances on one memory at once, each on disjoint outputs (and scratch).
 * No allocation, no static data, no stack: nothing below the Arena's base is written.
 * Loads and stores need no alignment (rows of odd width d start anywhere).
 */

// Floats per v128.
const L: i32 = 4;

@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** acc[j] += a0 x0[j] + a1 x1[j] for j < d: two rows per pass halve the loads and stores of acc. */
@inline function axpy2(acc: usize, a0: f32, x0: usize, a1: f32, x1: usize, d: i32): void {
  const v0 = f32x4.splat(a0);
  const v1 = f32x4.splat(a1);
  const d8 = d & ~7;
  const d4 = d & ~3;
  let j = 0;
  for (; j < d8; j += 8) {
    const o = <usize>j << 2;
    v128.store(acc + o, f32x4.add(v128.load(acc + o), f32x4.add(f32x4.mul(v0, v128.load(x0 + o)), f32x4.mul(v1, v128.load(x1 + o)))));
    v128.store(
      acc + o,
      f32x4.add(v128.load(acc + o, 16), f32x4.add(f32x4.mul(v0, v128.load(x0 + o, 16)), f32x4.mul(v1, v128.load(x1 + o, 16)))),
      16,
    );
  }
  for (; j < d4; j += L) {
    const o = <usize>j << 2;
    v128.store(acc + o, f32x4.add(v128.load(acc + o), f32x4.add(f32x4.mul(v0, v128.load(x0 + o)), f32x4.mul(v1, v128.load(x1 + o)))));
  }
  for (; j < d; j++) {
    store<f32>(at(acc, j), load<f32>(at(acc, j)) + (a0 * load<f32>(at(x0, j)) + a1 * load<f32>(at(x1, j))));
  }
}

/** acc[j] += a0 x0[j] for j < d. */
@inline function axpy1(acc: usize, a0: f32, x0: usize, d: i32): void {
  const v0 = f32x4.splat(a0);
  const d4 = d & ~3;
  let j = 0;
  for (; j < d4; j += L) {
    const o = <usize>j << 2;
    v128.store(acc + o, f32x4.add(v128.load(acc + o), f32x4.mul(v0, v128.load(x0 + o))));
  }
  for (; j < d; j++) store<f32>(at(acc, j), load<f32>(at(acc, j)) + a0 * load<f32>(at(x0, j)));
}

/**
 * out[b, :] = sum over active entries k of row b of val[k] W_dec[col[k], :].
 * Row by row, each W_dec row read front to back (the prefetcher follows it) into an output row
 * that stays in L1; this beat keeping column blocks in registers across the entries at d = 512.
 */
export function decodeActive(
  B: i32,
  d: i32,
  rowPtr: usize,
  col: usize,
  val: usize,
  W_dec: usize,
  out: usize,
): void {
  const rowBytes = <usize>d << 2;
  for (let b = 0; b < B; b++) {
    const k1 = load<i32>(at(rowPtr, b), 4);
    const xo = out + <usize>b * rowBytes;
    memory.fill(xo, 0, rowBytes);
    let k = load<i32>(at(rowPtr, b));
    for (; k + 1 < k1; k += 2) {
      const w0 = W_dec + <usize>load<i32>(at(col, k)) * rowBytes;
      const w1 = W_dec + <usize>load<i32>(at(col, k + 1)) * rowBytes;
      axpy2(xo, load<f32>(at(val, k)), w0, load<f32>(at(val, k + 1)), w1, d);
    }
    if (k < k1) axpy1(xo, load<f32>(at(val, k)), W_dec + <usize>load<i32>(at(col, k)) * rowBytes, d);
  }
}

/** <x, y> over d floats, with four independent accumulators (one chain is bound by the adds' latency). */
@inline function dot(x: usize, y: usize, d: i32): f32 {
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  const d16 = d & ~15;
  const d4 = d & ~3;
  let j = 0;
  for (; j < d16; j += 16) {
    const o = <usize>j << 2;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(x + o), v128.load(y + o)));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(x + o, 16), v128.load(y + o, 16)));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(x + o, 32), v128.load(y + o, 32)));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(x + o, 48), v128.load(y + o, 48)));
  }
  for (; j < d4; j += L) {
    const o = <usize>j << 2;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(x + o), v128.load(y + o)));
  }
  let s = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (; j < d; j++) s += load<f32>(at(x, j)) * load<f32>(at(y, j));
  return s;
}

/** gPre[k] = g + spars[i], gb_enc[i] += it, for the entry k of feature i. */
@inline function finishEntry(k: i32, i: i32, g: f32, spars: usize, gPre: usize, gb_enc: usize): void {
  const gp = g + load<f32>(at(spars, i));
  store<f32>(at(gPre, k), gp);
  store<f32>(at(gb_enc, i), load<f32>(at(gb_enc, i)) + gp);
}

/**
 * gPre[k] = <G[b], W_dec[col[k]]> + spars[col[k]]; gb_enc[col[k]] += gPre[k].
 * Two entries of a row per pass share the loads of G[b] (and give four independent chains).
 */
export function gradPreActive(
  B: i32,
  d: i32,
  rowPtr: usize,
  col: usize,
  G: usize,
  W_dec: usize,
  spars: usize,
  gPre: usize,
  gb_enc: usize,
): void {
  const rowBytes = <usize>d << 2;
  const d8 = d & ~7;
  const d4 = d & ~3;
  for (let b = 0; b < B; b++) {
    const g = G + <usize>b * rowBytes;
    const k1 = load<i32>(at(rowPtr, b), 4);
    let k = load<i32>(at(rowPtr, b));
    for (; k + 1 < k1; k += 2) {
      const i0 = load<i32>(at(col, k));
      const i1 = load<i32>(at(col, k + 1));
      const w0 = W_dec + <usize>i0 * rowBytes;
      const w1 = W_dec + <usize>i1 * rowBytes;
      let a0 = f32x4.splat(0);
      let a1 = a0;
      let c0 = a0;
      let c1 = a0;
      let j = 0;
      for (; j < d8; j += 8) {
        const o = <usize>j << 2;
        const x0 = v128.load(g + o);
        const x1 = v128.load(g + o, 16);
        a0 = f32x4.add(a0, f32x4.mul(x0, v128.load(w0 + o)));
        a1 = f32x4.add(a1, f32x4.mul(x1, v128.load(w0 + o, 16)));
        c0 = f32x4.add(c0, f32x4.mul(x0, v128.load(w1 + o)));
        c1 = f32x4.add(c1, f32x4.mul(x1, v128.load(w1 + o, 16)));
      }
      for (; j < d4; j += L) {
        const o = <usize>j << 2;
        const x0 = v128.load(g + o);
        a0 = f32x4.add(a0, f32x4.mul(x0, v128.load(w0 + o)));
        c0 = f32x4.add(c0, f32x4.mul(x0, v128.load(w1 + o)));
      }
      let s0 = hsum(f32x4.add(a0, a1));
      let s1 = hsum(f32x4.add(c0, c1));
      for (; j < d; j++) {
        const x = load<f32>(at(g, j));
        s0 += x * load<f32>(at(w0, j));
        s1 += x * load<f32>(at(w1, j));
      }
      finishEntry(k, i0, s0, spars, gPre, gb_enc);
      finishEntry(k + 1, i1, s1, spars, gPre, gb_enc);
    }
    if (k < k1) {
      const i = load<i32>(at(col, k));
      finishEntry(k, i, dot(g, W_dec + <usize>i * rowBytes, d), spars, gPre, gb_enc);
    }
  }
}

/**
 * gW_enc[:, i] = sum_p gPre xc_row, gW_dec[i, :] = sum_p val G_row + decay_i W_dec[i, :] for
 * features [i0, i1), over their CSC entries, accumulated in the scratch rows accE, accD [d] as in
 * the reference (they stay in L1; the entries' rows are read front to back, two per pass).
 */
export function weightGradsRange(
  i0: i32,
  i1: i32,
  d: i32,
  m: i32,
  cscPtr: usize,
  cscRow: usize,
  cscEntry: usize,
  gPre: usize,
  val: usize,
  xc: usize,
  G: usize,
  W_dec: usize,
  decay: usize,
  gW_enc: usize,
  gW_dec: usize,
  accE: usize,
  accD: usize,
): void {
  const rowBytes = <usize>d << 2;
  const colStride = <usize>m << 2;
  const d4 = d & ~3;
  for (let i = i0; i < i1; i++) {
    memory.fill(accE, 0, rowBytes);
    memory.fill(accD, 0, rowBytes);
    const c = i - i0;
    const p1 = load<i32>(at(cscPtr, c), 4);
    let p = load<i32>(at(cscPtr, c));
    for (; p + 1 < p1; p += 2) {
      const k0 = load<i32>(at(cscEntry, p));
      const k1 = load<i32>(at(cscEntry, p + 1));
      const r0 = <usize>load<i32>(at(cscRow, p)) * rowBytes;
      const r1 = <usize>load<i32>(at(cscRow, p + 1)) * rowBytes;
      axpy2(accE, load<f32>(at(gPre, k0)), xc + r0, load<f32>(at(gPre, k1)), xc + r1, d);
      axpy2(accD, load<f32>(at(val, k0)), G + r0, load<f32>(at(val, k1)), G + r1, d);
    }
    if (p < p1) {
      const k = load<i32>(at(cscEntry, p));
      const r = <usize>load<i32>(at(cscRow, p)) * rowBytes;
      axpy1(accE, load<f32>(at(gPre, k)), xc + r, d);
      axpy1(accD, load<f32>(at(val, k)), G + r, d);
    }
    const dn = load<f32>(at(decay, i));
    const dnv = f32x4.splat(dn);
    const wo = W_dec + <usize>i * rowBytes;
    const go = gW_dec + <usize>i * rowBytes;
    // Column i of gW_enc [d, m]: one float every colStride bytes.
    let eo = at(gW_enc, i);
    let j = 0;
    for (; j < d4; j += L) {
      const o = <usize>j << 2;
      v128.store(go + o, f32x4.add(v128.load(accD + o), f32x4.mul(dnv, v128.load(wo + o))));
      const e = v128.load(accE + o);
      v128.store_lane<f32>(eo, e, 0);
      v128.store_lane<f32>(eo + colStride, e, 1);
      v128.store_lane<f32>(eo + 2 * colStride, e, 2);
      v128.store_lane<f32>(eo + 3 * colStride, e, 3);
      eo += 4 * colStride;
    }
    for (; j < d; j++) {
      store<f32>(at(go, j), load<f32>(at(accD, j)) + dn * load<f32>(at(wo, j)));
      store<f32>(eo, load<f32>(at(accE, j)));
      eo += colStride;
    }
  }
}

/**
 * Adam on entries [start, start + len) and on rows - 1 more such ranges, each `stride` entries
 * after the last (a worker's columns of a row-major matrix in one call), in place (see
 * AdamStepConsts in ../loops.ts). The constants arrive as f64 and are rounded to f32 once, after 1 - beta.
 */
export function adamRun(
  param: usize,
  grad: usize,
  mom: usize,
  vel: usize,
  start: i32,
  len: i32,
  rows: i32,
  stride: i32,
  beta1: f64,
  beta2: f64,
  eps: f64,
  stepSize: f64,
  sqrtBc2: f64,
  gradScale: f64,
): void {
  const b1 = f32x4.splat(<f32>beta1);
  const b2 = f32x4.splat(<f32>beta2);
  const a1 = f32x4.splat(<f32>(1 - beta1));
  const a2 = f32x4.splat(<f32>(1 - beta2));
  const ev = f32x4.splat(<f32>eps);
  const sv = f32x4.splat(<f32>stepSize);
  const bv = f32x4.splat(<f32>sqrtBc2);
  const gv = f32x4.splat(<f32>gradScale);
  const lenLane = len & ~(L - 1);
  for (let r = 0; r < rows; r++) {
    const o0 = <usize>(start + r * stride) << 2;
    let q = 0;
    for (; q < lenLane; q += L) {
      const o = o0 + (<usize>q << 2);
      const g = f32x4.mul(v128.load(grad + o), gv);
      const mq = f32x4.add(f32x4.mul(b1, v128.load(mom + o)), f32x4.mul(a1, g));
      const vq = f32x4.add(f32x4.mul(b2, v128.load(vel + o)), f32x4.mul(a2, f32x4.mul(g, g)));
      v128.store(mom + o, mq);
      v128.store(vel + o, vq);
      const den = f32x4.add(f32x4.div(f32x4.sqrt(vq), bv), ev);
      v128.store(param + o, f32x4.sub(v128.load(param + o), f32x4.div(f32x4.mul(sv, mq), den)));
    }
    // The same f32 operations in the same order as the lanes: a range split anywhere gives equal results.
    for (; q < len; q++) {
      const o = o0 + (<usize>q << 2);
      const g = load<f32>(grad + o) * <f32>gradScale;
      const mq = <f32>beta1 * load<f32>(mom + o) + <f32>(1 - beta1) * g;
      const vq = <f32>beta2 * load<f32>(vel + o) + <f32>(1 - beta2) * (g * g);
      store<f32>(mom + o, mq);
      store<f32>(vel + o, vq);
      store<f32>(param + o, load<f32>(param + o) - (<f32>stepSize * mq) / (Mathf.sqrt(vq) / <f32>sqrtBc2 + <f32>eps));
    }
  }
}

// The products (gemm.ts: the sparse step's encoder product, the dense step's) are part of this module.
export { gemm } from './gemm';
export { scanActive } from './scan';
export { screen, screenPackBytes, screenRows, screenRowsBytes, screenRowsProduct, screenStatsBytes } from './screen';
export { columnSums, reluColumns } from './columns';
export { centreRows, residualRows } from './rows';
