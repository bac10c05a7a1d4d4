/**
 * Global-norm gradient clipping, once: on tensors (the dense reference and the one-thread sparse
 * step) and on host sums of squares (the worker threads, which each sum their slice). Both scale
 * every gradient by min(1, maxNorm / max(||g||, 1e-12)); test/step/clip.test.ts checks them
 * against each other.
 */
import * as tf from '../backend/tfjs.js';
import type { SaeGradients } from '../sae/gradients.js';
import { PARAM_NAMES } from '../sae/params.js';

/** min(1, maxNorm / ||g||) from the squared global norm sumSquares = sum over all gradients of g^2. */
export function clipScale(sumSquares: number, maxNorm: number): number {
  return Math.min(maxNorm / Math.max(Math.sqrt(sumSquares), 1e-12), 1);
}

/** acc + the sum of squares of a[start, end), added in order (a slice's share of the global norm). */
export function sumSquares(a: Float32Array, start = 0, end = a.length, acc = 0): number {
  let s = acc;
  for (let q = start; q < end; q++) s += a[q]! ** 2;
  return s;
}

/** All gradients scaled by min(1, maxNorm / ||g||_global). */
export function clipGlobalNorm(grads: SaeGradients, maxNorm: number): SaeGradients {
  return tf.tidy(() => {
    const sq = PARAM_NAMES.map((n) => tf.sum(tf.square(grads[n])));
    // jumprelu's thresholds count in the global norm, as in SAELens and dictionary_learning (clip_grad_norm_ over all parameters).
    if (grads.log_threshold) sq.push(tf.sum(tf.square(grads.log_threshold)));
    const norm = tf.sqrt(tf.addN(sq));
    const scale = tf.minimum(tf.div(maxNorm, tf.maximum(norm, 1e-12)), 1);
    return {
      W_enc: tf.mul(grads.W_enc, scale) as tf.Tensor2D,
      b_enc: tf.mul(grads.b_enc, scale) as tf.Tensor1D,
      W_dec: tf.mul(grads.W_dec, scale) as tf.Tensor2D,
      b_dec: tf.mul(grads.b_dec, scale) as tf.Tensor1D,
      ...(grads.log_threshold ? { log_threshold: tf.mul(grads.log_threshold, scale) as tf.Tensor1D } : {}),
    };
  });
}
