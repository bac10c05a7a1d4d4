/**
 * AssemblyScript, not TypeScript: part of loops.wasm (loops.ts re-exports it), excluded from tsc.
 *
 * The step's work over a row range of the batch (../../workers/row-reduce.ts centreRows and
 * residualRows are the reference), two columns per f64x2 vector: the same float64 operations on
 * the same float32 inputs in the same order per column, so xc, xSum, G and gSum are the
 * reference's to the bit. Only the two whole-range sums (squared error, total variance) add in
 * another order (one partial sum per lane), as statistics.
 */

@inline function f64pair(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

/**
 * Rows [r0, r1): xc = x - b_dec (float32), xSum[j] = sum over the rows of x[., j] (float64).
 * x, xc [B, d] f32; b_dec [d] f32; xSum [d] f64.
 */
export function centreRows(r0: i32, r1: i32, d: i32, x: usize, b_dec: usize, xc: usize, xSum: usize): void {
  memory.fill(xSum, 0, <usize>d << 3);
  const d4 = d & ~3;
  for (let b = r0; b < r1; b++) {
    const row = <usize>b * (<usize>d << 2);
    let j = 0;
    for (; j < d4; j += 4) {
      const o = <usize>j << 2;
      const v = v128.load(x + row + o);
      v128.store(xc + row + o, f32x4.sub(v, v128.load(b_dec + o)));
      const s = xSum + (<usize>j << 3);
      v128.store(s, f64x2.add(v128.load(s), f64x2.promote_low_f32x4(v)));
      v128.store(s, f64x2.add(v128.load(s, 16), f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1))), 16);
    }
    for (; j < d; j++) {
      const v = load<f32>(x + row + (<usize>j << 2));
      store<f32>(xc + row + (<usize>j << 2), v - load<f32>(b_dec + (<usize>j << 2)));
      const s = xSum + (<usize>j << 3);
      store<f64>(s, load<f64>(s) + <f64>v);
    }
  }
}

/**
 * Rows [r0, r1) of a batch of `rows`: r = the sum of the partials (float64, in worker order),
 * e = r + b_dec - x, G = (2 / rows) e (float32), gSum[j] = sum of G[., j] (float64), and into
 * out[0], out[1] the range's squared error and total variance about `mean` (float64).
 * partials: an i32 table of nParts addresses of [B, d] f32 arrays; x, G [B, d] f32; b_dec [d]
 * f32; mean, gSum [d] f64; out [2] f64. d even or odd (the last column alone).
 */
export function residualRows(
  r0: i32, r1: i32, rows: i32, d: i32, partials: usize, nParts: i32, b_dec: usize, x: usize, mean: usize, G: usize, gSum: usize, out: usize,
): void {
  memory.fill(gSum, 0, <usize>d << 3);
  const twoOverB: f64 = 2.0 / <f64>rows;
  const two = f64x2.splat(twoOverB);
  let sseV = f64x2.splat(0);
  let tvV = f64x2.splat(0);
  let sse: f64 = 0;
  let tv: f64 = 0;
  const d2 = d & ~1;
  const p0 = <usize>load<i32>(partials);
  for (let b = r0; b < r1; b++) {
    const row = <usize>b * (<usize>d << 2);
    let j = 0;
    for (; j < d2; j += 2) {
      const o = row + (<usize>j << 2);
      let r = f64pair(p0 + o);
      for (let p = 1; p < nParts; p++) r = f64x2.add(r, f64pair(<usize>load<i32>(partials + (<usize>p << 2)) + o));
      const v = f64pair(x + o);
      const e = f64x2.sub(f64x2.add(r, f64pair(b_dec + (<usize>j << 2))), v);
      sseV = f64x2.add(sseV, f64x2.mul(e, e));
      const g = f32x4.demote_f64x2_zero(f64x2.mul(two, e));
      v128.store64_lane(G + o, g, 0);
      const s = gSum + (<usize>j << 3);
      v128.store(s, f64x2.add(v128.load(s), f64x2.promote_low_f32x4(g)));
      const c = f64x2.sub(v, v128.load(mean + (<usize>j << 3)));
      tvV = f64x2.add(tvV, f64x2.mul(c, c));
    }
    for (; j < d; j++) {
      const o = row + (<usize>j << 2);
      let r = <f64>load<f32>(p0 + o);
      for (let p = 1; p < nParts; p++) r += <f64>load<f32>(<usize>load<i32>(partials + (<usize>p << 2)) + o);
      const v = <f64>load<f32>(x + o);
      const e = r + <f64>load<f32>(b_dec + (<usize>j << 2)) - v;
      sse += e * e;
      const g = <f32>(twoOverB * e);
      store<f32>(G + o, g);
      const s = gSum + (<usize>j << 3);
      store<f64>(s, load<f64>(s) + <f64>g);
      const c = v - load<f64>(mean + (<usize>j << 3));
      tv += c * c;
    }
  }
  store<f64>(out, sse + f64x2.extract_lane(sseV, 0) + f64x2.extract_lane(sseV, 1));
  store<f64>(out, tv + f64x2.extract_lane(tvV, 0) + f64x2.extract_lane(tvV, 1), 8);
}
