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
import { FIT_MAX_ROWS, scaleOf } from './encoder-fit.js';
import type { SaeWeights } from './params.js';

/** Rows of the init sample used, at most (an encoder fit's). */
export const AUTO_THRESHOLD_MAX_ROWS = FIT_MAX_ROWS;
/** Pre-activations held at once (rows x features of a block): 64 MiB of float32. */
export const AUTO_THRESHOLD_BLOCK_VALUES = 2 ** 24;

/** Features per block: the pre-activations of `rows` rows over a block stay within AUTO_THRESHOLD_BLOCK_VALUES. */
export function autoThresholdBlock(rows: number, m: number): number {
  return Math.max(1, Math.min(m, Math.floor(AUTO_THRESHOLD_BLOCK_VALUES / Math.max(1, rows))));
}

/** What 'auto' sets: the thresholds, and the factor the encoder (and they) are scaled by. */
export interface AutoThresholds {
  /** exp(log_threshold) [m] at step 0, already multiplied by `encoderScale`. */
  theta: Float32Array;
  /** W_enc and b_enc are multiplied by this (1 when the fit is degenerate). */
  encoderScale: number;
}

/**
 * The pre-activations of features [first, first + count) on the rows, feature by feature:
 * preT [count, rows], preT[i][r] = ((x_r - b_dec) W_enc + b_enc)[first + i]. The caller computes
 * them on its backend.
 */
export type PreActivationBlock = (first: number, count: number) => Promise<Float32Array>;

/**
 * Per-feature thresholds theta [m] such that feature i fires (pre > theta_i) on `fires` of the
 * `rows` rows of x [rows, d]: theta_i halfway between the fires-th and (fires+1)-th largest
 * pre-activation of feature i. Thresholds must be positive (log_threshold is trained): a feature
 * with fewer positive pre-activations than that fires on all of them (theta half its smallest
 * positive one), and one with none gets a tiny threshold. Features are taken `block` at a time, so
 * memory stays bounded at any width.
 *
 * Then the scale s of the encoder that makes the step-0 reconstruction least-squares right:
 * scaling W_enc, b_enc and the thresholds by s keeps which features fire and scales f, so
 * x_hat - b_dec = s f W_dec, and s = <x - b_dec, f W_dec> / ||f W_dec||^2 over the rows. With
 * the encoder at W_dec^T and unit decoder rows, L0 active features overshoot ||x - b_dec|| by
 * about sqrt(L0) times their typical share, and the first hundreds of steps would be spent
 * shrinking the pre-activations, which drags L0 far from where the thresholds put it.
 */
export async function autoThresholds(w: SaeWeights, x: Float32Array, rows: number, fires: number, pre: PreActivationBlock, block: number): Promise<AutoThresholds> {
  const { d, m } = w;
  const theta = new Float32Array(m);
  const rec = new Float64Array(rows * d); // f W_dec, row by row
  const col = new Float32Array(rows);
  const k = Math.min(rows - 1, Math.max(1, Math.round(fires)));
  for (let first = 0; first < m; first += block) {
    const count = Math.min(block, m - first);
    const preT = await pre(first, count);
    if (preT.length !== count * rows) throw new InternalError(`autoThresholds: a block of ${count} features x ${rows} rows came back with ${preT.length} values`);
    for (let c = 0; c < count; c++) {
      const values = preT.subarray(c * rows, (c + 1) * rows);
      col.set(values);
      const th = featureThreshold(col, rows, k);
      const i = first + c;
      theta[i] = th;
      const dec = w.W_dec.subarray(i * d, (i + 1) * d);
      for (let r = 0; r < rows; r++) {
        const p = values[r]!;
        if (!(p > th)) continue;
        for (let j = 0; j < d; j++) rec[r * d + j]! += p * dec[j]!;
      }
    }
  }
  const encoderScale = fitScale(rec, x, w.b_dec, rows, d);
  for (let i = 0; i < m; i++) theta[i]! *= encoderScale;
  return { theta, encoderScale };
}

/** The threshold of one feature from its pre-activations v (reordered): see autoThresholds. */
function featureThreshold(v: Float32Array, rows: number, k: number): number {
  if (rows < 2) return v[0]! > 0 ? v[0]! / 2 : 1e-6;
  // The k-th largest; kthLargest leaves the smaller values after it, the (k+1)-th is their maximum.
  const kth = kthLargest(v, k - 1);
  let next = -Infinity;
  for (let r = k; r < rows; r++) if (v[r]! > next) next = v[r]!;
  const cut = (kth + next) / 2;
  if (cut > 0) return cut;
  let smallest = Infinity;
  let largest = 0;
  for (let r = 0; r < rows; r++) {
    const p = v[r]!;
    if (p > 0 && p < smallest) smallest = p;
    if (Math.abs(p) > largest) largest = Math.abs(p);
  }
  return smallest < Infinity ? smallest / 2 : Math.max(1e-6 * largest, 1e-12);
}

/** s minimising sum_r ||x_r - b_dec - s rec_r||^2; 1 when degenerate. */
function fitScale(rec: Float64Array, x: Float32Array, bDec: Float32Array, rows: number, d: number): number {
  let dot = 0;
  let sq = 0;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < d; j++) {
      const v = rec[r * d + j]!;
      dot += v * (x[r * d + j]! - bDec[j]!);
      sq += v * v;
    }
  }
  return scaleOf(dot, sq);
}
