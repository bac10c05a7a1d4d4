/**
 * The encoder's scale at step 0, fitted to the data (`sae.encoderInit: 'fit'` for topk and
 * batchtopk; jumprelu's initialThreshold 'auto' does the same after setting its thresholds).
 *
 * The tied initialisation (W_enc = W_dec^T, unit decoder rows) reconstructs x - b_dec as the sum
 * of its active directions weighted by their projections, which overshoots ||x - b_dec|| by about
 * sqrt(L0) times a direction's typical share: at k = 64 on the stories260k activations the first
 * steps explain -5 of the variance, and the run spends its first hundreds of steps shrinking the
 * encoder. Scaling W_enc (and b_enc) by s changes no selection (a TopK keeps the same k per row, a
 * BatchTopK the same k x rows per batch: the order of the pre-activations is unchanged) and
 * scales f by s, so x_hat - b_dec = s f W_dec; the fitted s minimises the squared error over the
 * init sample.
 */
import { InternalError } from '../errors.js';
import { kthLargest } from './activation.js';
import type { SaeWeights } from './params.js';

/** Rows of the init sample an encoder fit (and jumprelu's 'auto' thresholds) uses, at most. */
export const FIT_MAX_ROWS = 4096;

/** W_enc and b_enc multiplied by s in place (which features a row selects is unchanged). */
export function scaleEncoder(w: SaeWeights, s: number): void {
  for (let i = 0; i < w.W_enc.length; i++) w.W_enc[i]! *= s;
  for (let i = 0; i < w.b_enc.length; i++) w.b_enc[i]! *= s;
}

/** Pre-activations of rows [first, first + count): pre [count, m], row by row. The caller computes them on its backend. */
export type PreActivationRows = (first: number, count: number) => Promise<Float32Array>;

/** Rows per block: a block's pre-activations stay within 2^24 values (64 MiB of float32). */
export function fitRowBlock(m: number): number {
  return Math.max(1, Math.floor(2 ** 24 / m));
}

/**
 * s minimising sum_r ||x_r - b_dec - s f_r W_dec||^2 over the rows, f the TopK (`batch` false:
 * the k largest pre-activations of each row, kept where positive) or BatchTopK (`batch` true: the
 * k x n largest of each block of n rows, `rowBlock` rows a block, as one training batch would)
 * activation at the current encoder; 1 when the fit is degenerate.
 */
export async function fitTopKEncoderScale(w: SaeWeights, x: Float32Array, rows: number, k: number, batch: boolean, pre: PreActivationRows, rowBlock: number): Promise<number> {
  const { d, m } = w;
  const rec = new Float64Array(d);
  const scratch = new Float32Array(batch ? rowBlock * m : m);
  let dot = 0;
  let sq = 0;
  for (let first = 0; first < rows; first += rowBlock) {
    const count = Math.min(rowBlock, rows - first);
    const p = await pre(first, count);
    if (p.length !== count * m) throw new InternalError(`fitTopKEncoderScale: a block of ${count} rows came back with ${p.length} values, not ${count * m}`);
    let blockCut = 0;
    if (batch) {
      const n = Math.min(k * count, count * m - 1);
      const all = scratch.subarray(0, count * m);
      all.set(p);
      blockCut = Math.max(0, kthLargest(all, n));
    }
    for (let r = 0; r < count; r++) {
      const row = p.subarray(r * m, (r + 1) * m);
      let cut = blockCut;
      if (!batch) {
        scratch.set(row);
        cut = k < m ? Math.max(0, kthLargest(scratch, k)) : 0;
      }
      rec.fill(0);
      for (let i = 0; i < m; i++) {
        const v = row[i]!;
        if (!(v > cut)) continue;
        const dec = w.W_dec.subarray(i * d, (i + 1) * d);
        for (let j = 0; j < d; j++) rec[j]! += v * dec[j]!;
      }
      const xr = x.subarray((first + r) * d, (first + r + 1) * d);
      for (let j = 0; j < d; j++) {
        dot += rec[j]! * (xr[j]! - w.b_dec[j]!);
        sq += rec[j]! * rec[j]!;
      }
    }
  }
  return scaleOf(dot, sq);
}

/** s = dot / sq, the least-squares scale, or 1 when that is not a positive finite number. */
export function scaleOf(dot: number, sq: number): number {
  const s = dot / sq;
  return Number.isFinite(s) && s > 0 ? s : 1;
}
