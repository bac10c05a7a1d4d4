/**
 * AssemblyScript, not TypeScript: part of loops.wasm (loops.ts re-exports it), excluded from tsc.
 *
 * The encoder product of the sparse step in WebAssembly SIMD: out = x W[:, c0:c0+n] + b[c0:c0+n].
 * Each output starts at its bias and adds x[r, k] w[k, c] for k = 0, 1, ... in float32, one
 * multiply and one add at a time: the order and rounding of XNNPACK's f32 GEMM (what tfjs'
 * fused matMul with a bias runs on wasm), so the result is the same to the bit.
 *
 * Layout: the weights' columns are first copied into panels of 8 ([K][8], the last one
 * zero-padded), then each tile of 4 rows x 8 columns keeps its 8 accumulators in registers
 * while k runs over a panel (16 KB at K = 512: it stays in L1) and 4 rows of x. Rows go in
 * blocks of ROW_BLOCK_BYTES so that a block of x stays in L2 while every panel passes over it.
 * Measured at [4096, 512] x [512, 4096] on one thread: ~1.5x tfjs' product (BENCHMARKS.md).
 */

/** Bytes of x per row block (128 rows at K = 512). */
const ROW_BLOCK_BYTES: i32 = 256 * 1024;

/**
 * Copy columns c0 .. c0 + n of w (row-major, ldw floats a row, K rows) into panels of 8 columns,
 * [ceil(n / 8)][K][8], zero-padding the last panel.
 */
function packPanels(K: i32, w: usize, ldw: i32, c0: i32, n: i32, pack: usize): void {
  const rowBytes = <usize>ldw << 2;
  for (let p = 0; p < n; p += 8) {
    const dst = pack + ((<usize>p * <usize>K) << 2);
    let src = w + (<usize>(c0 + p) << 2);
    const full = p + 8 <= n;
    const cnt = n - p;
    for (let k = 0; k < K; k++) {
      const o = dst + (<usize>k << 5);
      if (full) {
        v128.store(o, v128.load(src));
        v128.store(o, v128.load(src, 16), 16);
      } else {
        for (let j = 0; j < 8; j++) store<f32>(o + (<usize>j << 2), j < cnt ? load<f32>(src + (<usize>j << 2)) : 0);
      }
      src += rowBytes;
    }
  }
}

/** The bias of a panel's 8 columns (0 past n) as two vectors. */
@inline function biasLo(bias: usize, p: i32, n: i32): v128 {
  if (p + 4 <= n) return v128.load(bias + (<usize>p << 2));
  let v = f32x4.splat(0);
  if (p < n) v = f32x4.replace_lane(v, 0, load<f32>(bias + (<usize>p << 2)));
  if (p + 1 < n) v = f32x4.replace_lane(v, 1, load<f32>(bias + (<usize>(p + 1) << 2)));
  if (p + 2 < n) v = f32x4.replace_lane(v, 2, load<f32>(bias + (<usize>(p + 2) << 2)));
  return v;
}

/** Store the first cnt (< 8 allowed) of a row's 8 results. */
@inline function storeRow(o: usize, lo: v128, hi: v128, cnt: i32): void {
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

/**
 * out[r, c] = bias[c0 + c] + sum over k < K of x[r, k] w[k, c0 + c], for r < rows, c < n.
 * x [rows, K] row-major; w row-major with ldw floats a row; out [rows, n] row-major;
 * pack: scratch of K x 8 x ceil(n / 8) floats.
 */
export function gemmBias(rows: i32, K: i32, x: usize, w: usize, ldw: i32, c0: i32, n: i32, bias: usize, pack: usize, out: usize): void {
  packPanels(K, w, ldw, c0, n, pack);
  const b0 = bias + (<usize>c0 << 2);
  const xRow = <usize>K << 2;
  const oRow = <usize>n << 2;
  const rows4 = rows & ~3;
  const rowBlock = max(4, (ROW_BLOCK_BYTES / (K << 2)) & ~3);
  for (let r0 = 0; r0 < rows; r0 += rowBlock) {
    const r1 = min(rows, r0 + rowBlock);
    const r4 = min(r1, rows4);
    for (let p = 0; p < n; p += 8) {
      const panel = pack + ((<usize>p * <usize>K) << 2);
      const bl = biasLo(b0, p, n);
      const bh = biasLo(b0, p + 4, n);
      const cnt = n - p;
      let r = r0;
      for (; r < r4; r += 4) {
        let a0 = x + <usize>r * xRow;
        let a1 = a0 + xRow;
        let a2 = a1 + xRow;
        let a3 = a2 + xRow;
        const end = a0 + xRow;
        let wp = panel;
        let c00 = bl, c01 = bh, c10 = bl, c11 = bh, c20 = bl, c21 = bh, c30 = bl, c31 = bh;
        while (a0 < end) {
          const w0 = v128.load(wp);
          const w1 = v128.load(wp, 16);
          let v = v128.load32_splat(a0);
          c00 = f32x4.add(c00, f32x4.mul(v, w0));
          c01 = f32x4.add(c01, f32x4.mul(v, w1));
          v = v128.load32_splat(a1);
          c10 = f32x4.add(c10, f32x4.mul(v, w0));
          c11 = f32x4.add(c11, f32x4.mul(v, w1));
          v = v128.load32_splat(a2);
          c20 = f32x4.add(c20, f32x4.mul(v, w0));
          c21 = f32x4.add(c21, f32x4.mul(v, w1));
          v = v128.load32_splat(a3);
          c30 = f32x4.add(c30, f32x4.mul(v, w0));
          c31 = f32x4.add(c31, f32x4.mul(v, w1));
          a0 += 4;
          a1 += 4;
          a2 += 4;
          a3 += 4;
          wp += 32;
        }
        const o = out + <usize>r * oRow + (<usize>p << 2);
        storeRow(o, c00, c01, cnt);
        storeRow(o + oRow, c10, c11, cnt);
        storeRow(o + 2 * oRow, c20, c21, cnt);
        storeRow(o + 3 * oRow, c30, c31, cnt);
      }
      for (; r < r1; r++) {
        let a0 = x + <usize>r * xRow;
        const end = a0 + xRow;
        let wp = panel;
        let c00 = bl, c01 = bh;
        while (a0 < end) {
          const v = v128.load32_splat(a0);
          c00 = f32x4.add(c00, f32x4.mul(v, v128.load(wp)));
          c01 = f32x4.add(c01, f32x4.mul(v, v128.load(wp, 16)));
          a0 += 4;
          wp += 32;
        }
        storeRow(out + <usize>r * oRow + (<usize>p << 2), c00, c01, cnt);
      }
    }
  }
}
