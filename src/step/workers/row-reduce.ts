/**
 * The step's work over the batch's rows rather than its features, split into row ranges so that
 * every worker takes one and the main thread only adds k vectors of length d: centring the input,
 * and the residual that sums the workers' partial reconstructions. The one-thread formulation of
 * the same arithmetic is centre / residual / hostColumnSums in sparse-gradients.ts.
 */
import { scaleInput } from '../../sae/init.js';
import { copyRow } from '../../util/copy-row.js';

/**
 * Rows [r0, r1) of the step's x [B, d]: with `pool`, row r is pool row index[r] (the shuffle
 * buffer's, Batch.pooled); otherwise x holds the rows already. Unless scale is 1, the rows are
 * then multiplied by it as every other user of the input scale does (sae/init.ts scaleInput).
 */
export function loadRows(r0: number, r1: number, d: number, x: Float32Array, scale: number, pool: Float32Array | null, index: Int32Array): void {
  if (pool) for (let r = r0; r < r1; r++) copyRow(pool, index[r]! * d, x, r * d, d);
  if (scale !== 1) scaleInput(x.subarray(r0 * d, r1 * d), scale);
}

/** Rows [r0, r1) of worker k of `workers` for a batch of `rows` (contiguous, in order, sizes differing by at most one). */
export function rowRange(rows: number, workers: number, k: number): [number, number] {
  return [Math.floor((k * rows) / workers), Math.floor(((k + 1) * rows) / workers)];
}

/**
 * Rows [r0, r1): xc = x - b_dec, and xSum[j] = sum over the range of x[., j] (for the batch mean
 * the total variance needs).  x, xc [B, d]; b_dec [d]; xSum [d].
 */
export function centreRows(r0: number, r1: number, d: number, x: Float32Array, b_dec: Float32Array, xc: Float32Array, xSum: Float64Array): void {
  xSum.fill(0);
  for (let b = r0; b < r1; b++) {
    for (let j = 0, q = b * d; j < d; j++, q++) {
      const v = x[q]!;
      xSum[j]! += v;
      xc[q] = v - b_dec[j]!;
    }
  }
}

/**
 * Rows [r0, r1) of a batch of `rows`: the reconstruction r = sum of the partials (in worker
 * order) + b_dec, G = dL/dx_hat = (2 / rows)(r - x), gSum[j] = sum over the range of G[., j] (b_dec's
 * gradient, in part), and the range's squared error and total variance about `mean`.
 * partials: each worker's [B, d]; x, G [B, d]; b_dec [d]; mean, gSum [d].
 * `aux` (AuxK, slice-auxk.ts): also its error r = e_hat - e, e = x - r the residual and e_hat the sum
 * of aux.partials, into aux.error [B, d], with the range's sum of ||r||^2 (auxSse) and of ||e||^2
 * (residualSq; e's column sums are -(rows/2) gSum).
 */
export function residualRows(
  r0: number,
  r1: number,
  rows: number,
  d: number,
  partials: Float32Array[],
  b_dec: Float32Array,
  x: Float32Array,
  mean: Float64Array,
  G: Float32Array,
  gSum: Float64Array,
  aux?: { partials: Float32Array[]; error: Float32Array },
): { sse: number; totalVariance: number; auxSse: number; residualSq: number } {
  let sse = 0;
  let totalVariance = 0;
  let auxSse = 0;
  let residualSq = 0;
  const twoOverB = 2 / rows;
  gSum.fill(0);
  for (let b = r0; b < r1; b++) {
    for (let j = 0, q = b * d; j < d; j++, q++) {
      let r = partials[0]![q]!;
      for (let p = 1; p < partials.length; p++) r += partials[p]![q]!;
      const v = x[q]!;
      const e = r + b_dec[j]! - v;
      sse += e * e;
      const g = twoOverB * e;
      G[q] = g;
      gSum[j]! += Math.fround(g);
      const c = v - mean[j]!;
      totalVariance += c * c;
      if (aux) {
        let eHat = aux.partials[0]![q]!;
        for (let p = 1; p < aux.partials.length; p++) eHat += aux.partials[p]![q]!;
        // e_hat - e with e = x - x_hat = -err
        const a = eHat + e;
        aux.error[q] = a;
        auxSse += a * a;
        residualSq += e * e;
      }
    }
  }
  return { sse, totalVariance, auxSse, residualSq };
}

/**
 * Resampling's scores of rows [r0, r1) of a chunk of pool rows (sae/row-scores.ts ScoredRows,
 * packed [||x - x_hat||^2 c | ||x||^2 c | ||x - b_dec||^2 c | sum over the rows of (x - b_dec) d],
 * c = r1 - r0), x_hat - b_dec being the sum of every worker's partial reconstruction in worker
 * order (pool-score-slice.ts). Sums in float64, as sparse-decode-rows.ts: each value agrees with
 * the one-thread float32 scoring's to float32 rounding. partials: each worker's [B, d]; x, xc [B, d].
 */
export function scoreRowsOfPartials(r0: number, r1: number, d: number, partials: Float32Array[], x: Float32Array, xc: Float32Array): Float32Array {
  const c = r1 - r0;
  const out = new Float32Array(3 * c + d);
  const xcSum = new Float64Array(d);
  for (let b = r0; b < r1; b++) {
    let loss = 0;
    let xSq = 0;
    let xcSq = 0;
    for (let j = 0, q = b * d; j < d; j++, q++) {
      let r = partials[0]![q]!;
      for (let p = 1; p < partials.length; p++) r += partials[p]![q]!;
      const v = x[q]!;
      const u = xc[q]!;
      const e = u - r;
      loss += e * e;
      xSq += v * v;
      xcSq += u * u;
      xcSum[j]! += u;
    }
    out[b - r0] = loss;
    out[c + b - r0] = xSq;
    out[2 * c + b - r0] = xcSq;
  }
  for (let j = 0; j < d; j++) out[3 * c + j] = xcSum[j]!;
  return out;
}

/** out[j] = sum over the parts, in order, of part[j] (parts: one [d] per worker). */
export function addParts(parts: Float64Array[], d: number, out: Float64Array | Float32Array): void {
  for (let j = 0; j < d; j++) {
    let t = 0;
    for (const p of parts) t += p[j]!;
    out[j] = t;
  }
}
