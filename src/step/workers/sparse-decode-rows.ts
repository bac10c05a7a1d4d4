/**
 * Above this fraction of active entries in f the dense product decodes. Measured (2026-11-30,
 * 2 shared cores, wasm, d 512, m 8192, 256 rows): the host loop below took 94 ms at 1/64 of the
 * entries active and 347 ms at 1/16, the tfjs product 174-185 ms at any density. Trained SAEs
 * sit far below (config B at L0 28: 1/290).
 */
export const SPARSE_DECODE_MAX_DENSITY = 1 / 32;

/** Entries of f[0, n) that are not 0. */
export function activeEntries(f: Float32Array, n: number): number {
  let nnz = 0;
  for (let i = 0; i < n; i++) if (f[i] !== 0) nnz++;
  return nnz;
}

/**
 * The packed scores of sae/row-scores.ts (ScoredRows) of c rows given their activations,
 * with x_hat = f W_dec + b_dec summed over each row's active features only: [||x - x_hat||^2 c |
 * ||x||^2 c | ||x - b_dec||^2 c | sum over the rows of (x - b_dec) d]. Sums in float64, so each
 * value agrees with the dense float32 product's to float32 rounding.
 * x [c, d], f [c, m], W_dec [m, d], b_dec [d] row-major.
 */
export function sparseDecodeRows(x: Float32Array, f: Float32Array, c: number, d: number, m: number, W_dec: Float32Array, b_dec: Float32Array): Float32Array {
  const out = new Float32Array(3 * c + d);
  const xcSum = new Float64Array(d);
  const acc = new Float64Array(d);
  for (let r = 0; r < c; r++) {
    acc.fill(0);
    for (let i = 0, q = r * m; i < m; i++, q++) {
      const a = f[q]!;
      if (a === 0) continue;
      for (let j = 0, w = i * d; j < d; j++, w++) acc[j]! += a * W_dec[w]!;
    }
    let loss = 0;
    let xSq = 0;
    let xcSq = 0;
    for (let j = 0, p = r * d; j < d; j++, p++) {
      const v = x[p]!;
      const xc = v - b_dec[j]!;
      const e = xc - acc[j]!;
      loss += e * e;
      xSq += v * v;
      xcSq += xc * xc;
      xcSum[j]! += xc;
    }
    out[r] = loss;
    out[c + r] = xSq;
    out[2 * c + r] = xcSq;
  }
  for (let j = 0; j < d; j++) out[3 * c + j] = xcSum[j]!;
  return out;
}
