import * as tf from '../backend/tfjs.js';

/**
 * KL(p || q) = sum_v p_v (log p_v - log q_v) per row, from log-probabilities (nats).
 * logP, logQ [n, vocab] -> [n]. Zero when the rows are equal.
 */
export function klRows(logP: tf.Tensor2D, logQ: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1) as tf.Tensor1D);
}
