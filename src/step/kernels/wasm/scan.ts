/**
 * AssemblyScript, not TypeScript: part of loops.wasm (loops.ts re-exports it), excluded from tsc.
 *
 * The sparse step's scan for active entries (../loops.ts scanActive documents it) over a [B, mk]
 * block of pre-activations, four at a time: a row's vectors with no entry above its threshold
 * (most of them, at a trained L0) cost one compare. The entries, fired and fSum are the
 * reference's to the bit: the same comparisons, and the same additions in the same order
 * (fired in float32, fSum in float64, each feature's rows in order).
 */

/** One active entry: append it to the rows and add it to its feature's counts. */
@inline function take(c: i32, v: f32, i0: i32, nnz: i32, col: usize, val: usize, fired: usize, fSum: usize): void {
  store<i32>(col + (<usize>nnz << 2), i0 + c);
  store<f32>(val + (<usize>nnz << 2), v);
  const f = fired + (<usize>(i0 + c) << 2);
  store<f32>(f, load<f32>(f) + 1);
  const s = fSum + (<usize>(i0 + c) << 3);
  store<f64>(s, load<f64>(s) + <f64>v);
}

/**
 * scanActive: pre [B, mk] row-major at `pre` (column c is feature i0 + c); rowPtr [B + 1], col and
 * val [capacity]; fired (f32) and fSum (f64) indexed by feature. rowThreshold: a f32 per row, or 0
 * for none (threshold 0). Returns nnz, or -1 past capacity.
 */
export function scanActive(
  pre: usize, B: i32, mk: i32, i0: i32, rowPtr: usize, col: usize, val: usize, fired: usize, fSum: usize, capacity: i32,
  rowThreshold: usize,
): i32 {
  for (let c = 0; c < mk; c++) {
    store<f32>(fired + (<usize>(i0 + c) << 2), 0);
    store<f64>(fSum + (<usize>(i0 + c) << 3), 0);
  }
  let nnz = 0;
  store<i32>(rowPtr, 0);
  const mk4 = mk & ~3;
  for (let b = 0; b < B; b++) {
    const row = pre + ((<usize>b * <usize>mk) << 2);
    const t: f32 = rowThreshold ? load<f32>(rowThreshold + (<usize>b << 2)) : 0;
    const tv = f32x4.splat(t);
    let c = 0;
    for (; c < mk4; c += 4) {
      const v = v128.load(row + (<usize>c << 2));
      let bits = i32x4.bitmask(f32x4.gt(v, tv));
      while (bits != 0) {
        const lane = ctz(bits);
        bits &= bits - 1;
        if (nnz >= capacity) return -1;
        take(c + lane, load<f32>(row + (<usize>(c + lane) << 2)), i0, nnz, col, val, fired, fSum);
        nnz++;
      }
    }
    for (; c < mk; c++) {
      const v = load<f32>(row + (<usize>c << 2));
      if (v > t) {
        if (nnz >= capacity) return -1;
        take(c, v, i0, nnz, col, val, fired, fSum);
        nnz++;
      }
    }
    store<i32>(rowPtr + (<usize>(b + 1) << 2), nnz);
  }
  return nnz;
}
