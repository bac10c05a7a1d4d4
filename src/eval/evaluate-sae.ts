import * as tf from '@tensorflow/tfjs';
import { rowsThatFit } from '../backend/select.js';
import type { Batch } from '../data/types.js';
import { InternalError } from '../errors.js';
import { forward, type SaeTensors } from '../sae/forward.js';
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
}

/**
 * Reduce rows x [n, d] to host-side BatchStats on the device: per-row errors and norms,
 * per-feature firing counts and activation sums.
 */
export async function batchStats(sae: SaeTensors, x: Float32Array, n: number, d: number): Promise<BatchStats> {
  const outs = tf.tidy(() => {
    const xt = tf.tensor2d(x, [n, d]);
    const { f, xHat } = forward(sae, xt);
    const err = tf.sum(tf.square(tf.sub(xt, xHat)), 1);
    const xNorm = tf.sqrt(tf.sum(tf.square(xt), 1));
    const xHatNorm = tf.sqrt(tf.sum(tf.square(xHat), 1));
    const fire = tf.sum(tf.cast(tf.greater(f, 0), 'float32'), 0);
    const fSum = tf.sum(f, 0);
    return [err, xNorm, xHatNorm, fire, fSum];
  });
  try {
    const [err, xNorm, xHatNorm, fire, fSum] = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
    // Totals in float64 on the host: a float32 sum over rows x features loses integer exactness.
    let l0Sum = 0;
    let l1Sum = 0;
    for (let k = 0; k < fire!.length; k++) {
      l0Sum += fire![k]!;
      l1Sum += fSum![k]!;
    }
    return { rows: n, x, rowSquaredError: err!, xNorm: xNorm!, xHatNorm: xHatNorm!, fireCounts: fire!, l0Sum, l1Sum };
  } finally {
    tf.dispose(outs);
  }
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
  for await (const b of batches) {
    if (b.d !== d) throw new InternalError(`evaluateSae: batch width ${b.d} != SAE width ${d}`);
    for (let s = 0; s < b.rows && seen < maxRows; s += chunk) {
      const n = Math.min(chunk, b.rows - s, maxRows - seen);
      acc.add(await batchStats(sae, b.x.subarray(s * d, (s + n) * d), n, d));
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
