/**
 * JumpReLU thresholds at step 0 taken from the data (`sae.jumprelu.initialThreshold: 'auto'`).
 *
 * Under Adam the log-threshold moves at most about train.lr per step, so a run only reaches the
 * L0 its penalty asks for if the thresholds start near where they must end. A fixed initial
 * threshold suits one scale of data only: on the stories260k activations 0.5 starts with L0
 * ~200 of 1024 (a 2,000-step run then ends at L0 ~20 whatever the target), on the synthetic data
 * it leaves most features dead. 'auto' sets each feature's threshold so that it fires on
 * initialL0 / m of the init sample's rows: L0 starts at initialL0 (for the 'target-l0' penalty its
 * target), and no feature starts dead.
 */
import { InternalError } from '../errors.js';
import { kthLargest } from './activation.js';
import type { SaeWeights } from './params.js';

/** At most this many pre-activations (rows x m) are held: 128 MiB of float32. */
export const AUTO_THRESHOLD_VALUES = 2 ** 25;
/** Rows of the init sample used, at most (fewer where m is large, see AUTO_THRESHOLD_VALUES). */
export const AUTO_THRESHOLD_MAX_ROWS = 4096;

/** Rows of the sample 'auto' uses: enough for the quantile, few enough to stay within AUTO_THRESHOLD_VALUES. */
export function autoThresholdRows(sampleRows: number, m: number): number {
  return Math.max(1, Math.min(sampleRows, AUTO_THRESHOLD_MAX_ROWS, Math.max(256, Math.floor(AUTO_THRESHOLD_VALUES / m))));
}

/** What 'auto' sets: the thresholds, and the factor the encoder (and they) are scaled by. */
export interface AutoThresholds {
  /** exp(log_threshold) [m] at step 0, already multiplied by `encoderScale`. */
  theta: Float32Array;
  /** W_enc and b_enc are multiplied by this (1 when the fit is degenerate). */
  encoderScale: number;
}

/**
 * Per-feature thresholds theta [m] such that feature i fires (pre > theta_i) on `fires` of the
 * `rows` rows of x [rows, d], given their pre-activations feature by feature, preT [m, rows] =
 * ((x - b_dec) W_enc + b_enc)^T (the caller computes them on its backend): theta_i halfway between the
 * fires-th and (fires+1)-th largest pre-activation of feature i. Thresholds must be positive
 * (log_threshold is trained): a feature whose cut falls at or below zero gets `floor`, a thousandth
 * of the median positive cut, and fires on every row with pre > floor.
 *
 * Then the scale s of the encoder that makes the step-0 reconstruction least-squares right:
 * scaling W_enc, b_enc and the thresholds by s keeps which features fire and scales f, so
 * x_hat - b_dec = s f W_dec, and s = <x - b_dec, f W_dec> / ||f W_dec||^2 over the rows. With
 * the encoder at W_dec^T and unit decoder rows, L0 active features overshoot ||x - b_dec|| by
 * about sqrt(L0) times their typical share, and the first hundreds of steps would be spent
 * shrinking the pre-activations, which drags L0 far from where the thresholds put it.
 */
export function autoThresholds(w: SaeWeights, x: Float32Array, preT: Float32Array, rows: number, fires: number): AutoThresholds {
  const { d, m } = w;
  if (preT.length !== rows * m) throw new InternalError(`autoThresholds: preT holds ${preT.length} values, not m x rows = ${m * rows}`);
  const cuts = new Float32Array(m);
  if (rows >= 2) {
    const k = Math.min(rows - 1, Math.max(1, Math.round(fires)));
    const col = new Float32Array(rows);
    for (let i = 0; i < m; i++) {
      col.set(preT.subarray(i * rows, (i + 1) * rows));
      // The k-th largest; kthLargest leaves the smaller values after it, the (k+1)-th is their maximum.
      const kth = kthLargest(col, k - 1);
      let next = -Infinity;
      for (let r = k; r < rows; r++) if (col[r]! > next) next = col[r]!;
      cuts[i] = (kth + next) / 2;
    }
  }
  const positive = cuts.filter((c) => c > 0).sort();
  let sumSq = 0;
  for (const p of preT) sumSq += p * p;
  const floor = 1e-3 * (positive.length ? positive[positive.length >> 1]! : Math.sqrt(sumSq / (rows * m))) || 1e-6;
  const theta = cuts.map((c) => (c > floor ? c : floor));
  const encoderScale = reconstructionScale(w, x, preT, rows, theta);
  for (let i = 0; i < m; i++) theta[i]! *= encoderScale;
  return { theta, encoderScale };
}

/** s minimising sum_r ||x_r - b_dec - s f_r W_dec||^2, f = pre H(pre - theta); 1 when degenerate. */
function reconstructionScale(w: SaeWeights, x: Float32Array, preT: Float32Array, rows: number, theta: Float32Array): number {
  const { d, m } = w;
  const rec = new Float64Array(rows * d); // f W_dec, row by row
  for (let i = 0; i < m; i++) {
    const th = theta[i]!;
    const dec = w.W_dec.subarray(i * d, (i + 1) * d);
    const col = preT.subarray(i * rows, (i + 1) * rows);
    for (let r = 0; r < rows; r++) {
      const p = col[r]!;
      if (!(p > th)) continue;
      for (let j = 0; j < d; j++) rec[r * d + j]! += p * dec[j]!;
    }
  }
  let dot = 0;
  let sq = 0;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < d; j++) {
      const v = rec[r * d + j]!;
      dot += v * (x[r * d + j]! - w.b_dec[j]!);
      sq += v * v;
    }
  }
  const s = dot / sq;
  return Number.isFinite(s) && s > 0 ? s : 1;
}
