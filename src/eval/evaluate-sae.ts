import * as tf from '../backend/tfjs.js';
import { rowsThatFit } from '../backend/select.js';
import type { Batch } from '../data/types.js';
import { InternalError } from '../errors.js';
import { forward, type SaeTensors } from '../sae/forward.js';
import { HostForward } from './host-forward.js';
import { MetricsAccumulator, type BatchStats, type EvalMetrics } from './metrics.js';
import { scoreGroundTruth } from './mmcs.js';

export interface EvaluateOptions {
  /** A feature firing on more than this fraction of rows counts as dense (default 0.1). */
  denseThreshold?: number;
  /** Rows sent to the device at once (default 4096); bounds memory at chunkRows x m floats. */
  chunkRows?: number;
  /** Stop after this many rows (default: all). */
  maxRows?: number;
  /** Ground-truth dictionary [features, d] (row-major) for MMCS and matching. */
  groundTruth?: { directions: Float32Array; features: number };
  /**
   * Called with each chunk's activations f [rows, m] (a view, valid during the call), its rows'
   * ids and the batch they came from, in row order: another pass over the same rows (the feature
   * statistics at the end of a run) without encoding them again.
   */
  onActivations?: (f: Float32Array, rows: number, rowIds: Float64Array, batch: Batch) => void;
}

/**
 * Reduce rows x [n, d] to host-side BatchStats on the device: per-row errors and norms,
 * per-feature firing counts and activation sums. With `host` (the wasm backend) f and x_hat come
 * from its SIMD products, the same bits as tfjs' forward, and only the reductions run in tfjs.
 */
export async function batchStats(
  sae: SaeTensors, x: Float32Array, n: number, d: number, host?: HostForward | null, onF?: (f: Float32Array) => void,
): Promise<BatchStats> {
  if (host) return hostBatchStats(host, x, n, d, onF);
  const outs = tf.tidy(() => {
    const xt = tf.tensor2d(x, [n, d]);
    const { f, xHat } = forward(sae, xt);
    const fire = tf.sum(tf.cast(tf.greater(f, 0), 'float32'), 0);
    const fSum = tf.sum(f, 0);
    return [...rowReductions(xt, xHat), fire, fSum, ...(onF ? [f] : [])];
  });
  try {
    const [err, xNorm, xHatNorm, fire, fSum, f] = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
    if (onF) onF(f!);
    return withTotals(n, x, err!, xNorm!, xHatNorm!, fire!, fSum!);
  } finally {
    tf.dispose(outs);
  }
}

/** Per row: ||x - x_hat||^2, ||x||, ||x_hat||. */
function rowReductions(xt: tf.Tensor2D, xHat: tf.Tensor2D): tf.Tensor[] {
  const err = tf.sum(tf.square(tf.sub(xt, xHat)), 1);
  const xNorm = tf.sqrt(tf.sum(tf.square(xt), 1));
  const xHatNorm = tf.sqrt(tf.sum(tf.square(xHat), 1));
  return [err, xNorm, xHatNorm];
}

/**
 * batchStats with f and x_hat from the host's SIMD products: the per-feature counts and sums on
 * the host (float32, rows in order, as tfjs' column sums add them), the per-row reductions over
 * [n, d] in tfjs. The same numbers as the tfjs path, without moving [n, m] activations into tfjs.
 */
async function hostBatchStats(host: HostForward, x: Float32Array, n: number, d: number, onF?: (f: Float32Array) => void): Promise<BatchStats> {
  const m = host.m;
  const f = host.encode(x, n);
  onF?.(f);
  const fire = new Float32Array(m);
  const fSum = new Float32Array(m);
  for (let r = 0; r < n; r++) {
    const o = r * m;
    for (let i = 0; i < m; i++) {
      const v = f[o + i]!;
      if (v > 0) {
        fire[i]!++;
        fSum[i] = fSum[i]! + v;
      }
    }
  }
  const xHat = host.decode();
  const outs = tf.tidy(() => rowReductions(tf.tensor2d(x, [n, d]), tf.tensor2d(xHat, [n, d])));
  try {
    const [err, xNorm, xHatNorm] = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
    return withTotals(n, x, err!, xNorm!, xHatNorm!, fire, fSum);
  } finally {
    tf.dispose(outs);
  }
}

/** BatchStats with its totals, in float64 on the host: a float32 sum over rows x features loses integer exactness. */
function withTotals(
  n: number, x: Float32Array, err: Float32Array, xNorm: Float32Array, xHatNorm: Float32Array, fire: Float32Array, fSum: Float32Array,
): BatchStats {
  let l0Sum = 0;
  let l1Sum = 0;
  for (let k = 0; k < fire.length; k++) {
    l0Sum += fire[k]!;
    l1Sum += fSum[k]!;
  }
  return { rows: n, x, rowSquaredError: err, xNorm, xHatNorm, fireCounts: fire, l0Sum, l1Sum };
}

/**
 * Metrics of an SAE over a stream of batches (see MetricsAccumulator for the definitions).
 * Batches are split into chunks of `chunkRows`; nothing stays on the device afterwards.
 */
export async function evaluateSae(
  sae: SaeTensors,
  batches: AsyncIterable<Batch> | Iterable<Batch>,
  opts: EvaluateOptions = {},
): Promise<EvalMetrics> {
  const [d, m] = sae.W_enc.shape;
  const acc = new MetricsAccumulator(d, m, { denseThreshold: opts.denseThreshold });
  const chunk = opts.chunkRows ?? rowsThatFit(4096, m);
  const maxRows = opts.maxRows ?? Infinity;
  let seen = 0;
  const host = await HostForward.create(sae, chunk);
  const hook = opts.onActivations;
  for await (const b of batches) {
    if (b.d !== d) throw new InternalError(`evaluateSae: batch width ${b.d} != SAE width ${d}`);
    for (let s = 0; s < b.rows && seen < maxRows; s += chunk) {
      const n = Math.min(chunk, b.rows - s, maxRows - seen);
      const onF = hook ? (f: Float32Array) => hook(f, n, b.rowIds.subarray(s, s + n), b) : undefined;
      acc.add(await batchStats(sae, b.x.subarray(s * d, (s + n) * d), n, d, host, onF));
      seen += n;
    }
    if (seen >= maxRows) break;
  }
  const metrics = acc.result();
  if (opts.groundTruth) {
    const W_dec = (await sae.W_dec.data()) as Float32Array;
    metrics.groundTruth = scoreGroundTruth(opts.groundTruth.directions, opts.groundTruth.features, W_dec, m, d);
  }
  return metrics;
}
export type { EvalMetrics } from './metrics.js';
