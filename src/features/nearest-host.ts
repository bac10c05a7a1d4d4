/**
 * The most similar other decoder row of every feature, on the host with the SIMD product
 * (step/kernels: `gemm` in loops.wasm), on the wasm backend. The similarities are symmetric, so
 * only blocks on and above the diagonal are multiplied (half the tfjs path's m^2 d products) and
 * each similarity updates both of its rows. `gemm` adds the products term by term in the order of
 * tfjs' matMul, and cos(i, j) = cos(j, i) to the bit (same terms, same order), so the result is the
 * tfjs path's (geometry.ts `nearestDecoderNeighbours`) exactly, ties included: candidates reach each
 * row in increasing index order and only a larger cosine replaces the best, as argMax keeps the first.
 */
import { Arena } from '../step/kernels/arena.js';
import { productPackFloats } from '../step/kernels/loops.js';
import { loadSimdLoops } from '../step/kernels/simd-loops.js';

export interface NearestNeighbours {
  /** Index of the most similar other row [m]; -1 when m = 1. */
  nearestIndex: Int32Array;
  /** Cosine to that row [m]; NaN when m = 1. */
  nearestCos: Float32Array;
}

/** Floats of similarities held at once (a block of rows against the rows from its first on). */
const BLOCK_FLOATS = 1 << 22;

/**
 * `unit` [m, d]: the unit-norm decoder rows. Null when the SIMD kernels cannot run here (no
 * WebAssembly SIMD, or the arrays would not fit one 4 GiB memory): use the tfjs path then.
 */
export function nearestUnitRowsHost(unit: Float32Array, m: number, d: number, opts: { blockFloats?: number } = {}): NearestNeighbours | null {
  const nearestIndex = new Int32Array(m).fill(-1);
  const nearestCos = new Float32Array(m).fill(NaN);
  if (m < 2) return { nearestIndex, nearestCos };
  const R = Math.max(1, Math.min(m, Math.floor((opts.blockFloats ?? BLOCK_FLOATS) / m)));
  const pack = productPackFloats(d, m);
  const floats = [m * d, R * m, pack.packA, pack.packB];
  const bytes = Arena.bytesFor(floats.map((n) => 4 * n));
  if (Arena.BASE + bytes > 65536 * Arena.PAGE) return null;
  const arena = new Arena(bytes);
  const product = loadSimdLoops(arena.memory)?.product;
  if (!product) return null;
  const u = arena.f32(m * d);
  u.set(unit.subarray(0, m * d));
  const c = arena.f32(R * m);
  const packA = arena.f32(pack.packA);
  const packB = arena.f32(pack.packB);
  const best = new Float32Array(m).fill(-Infinity);
  for (let i0 = 0; i0 < m; i0 += R) {
    const rows = Math.min(R, m - i0);
    const N = m - i0; // columns i0 .. m-1: the block's own rows and every later one
    // c [rows, N] = u[i0 : i0+rows] u[i0 :]^T; the transposed operand is a stride (bcs = d).
    const ran = product({ M: rows, N, K: d, a: u.subarray(i0 * d), ars: d, acs: 1, b: u.subarray(i0 * d), brs: 1, bcs: d, c, ldc: N, packA, packB });
    if (ran === false) return null;
    for (let r = 0; r < rows; r++) {
      const i = i0 + r;
      const base = r * N;
      let bi = best[i]!;
      let ii = nearestIndex[i]!;
      for (let n = r + 1; n < N; n++) {
        const v = c[base + n]!;
        const j = i0 + n;
        if (v > bi) {
          bi = v;
          ii = j;
        }
        if (v > best[j]!) {
          best[j] = v;
          nearestIndex[j] = i;
        }
      }
      best[i] = bi;
      nearestIndex[i] = ii;
    }
  }
  nearestCos.set(best);
  return { nearestIndex, nearestCos };
}
