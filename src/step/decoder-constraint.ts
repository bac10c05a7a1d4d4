/**
 * The 'unit-norm' decoder constraint (Towards Monosemanticity, "Autoencoder" appendix), once:
 * before the update each decoder row's gradient loses its component along the (unit) row, so the
 * step moves tangent to the unit sphere; after it every row is scaled back to unit norm. Tensor
 * versions for the dense reference and the one-thread sparse step, host versions over a range of
 * rows for the worker threads; test/step/decoder-constraint.test.ts checks them against each other.
 */
import * as tf from '../backend/tfjs.js';

/** gW_dec [m, d] minus, per row, its component along W_dec [m, d]'s (unit) row -> [m, d]. */
export function projectDecoderGradient(gW_dec: tf.Tensor2D, W_dec: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const along = tf.sum(tf.mul(gW_dec, W_dec), 1, true); // [m, 1]
    return tf.sub(gW_dec, tf.mul(along, W_dec)) as tf.Tensor2D;
  });
}

/** W [m, d] with every row scaled to unit L2 norm. */
export function unitRows(W: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(W, tf.maximum(tf.norm(W, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D);
}

/** g_i -= <g_i, w_i> w_i for rows [i0, i1) of g, w [m, d], in place (projectDecoderGradient, per row). */
export function projectRows(g: Float32Array, w: Float32Array, i0: number, i1: number, d: number): void {
  for (let i = i0; i < i1; i++) {
    const o = i * d;
    let along = 0;
    for (let j = 0; j < d; j++) along += g[o + j]! * w[o + j]!;
    for (let j = 0; j < d; j++) g[o + j]! -= along * w[o + j]!;
  }
}

/** w_i /= max(||w_i||, 1e-12) for rows [i0, i1) of w [m, d], in place (unitRows, per row). */
export function unitNormRows(w: Float32Array, i0: number, i1: number, d: number): void {
  for (let i = i0; i < i1; i++) {
    const o = i * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += w[o + j]! ** 2;
    const n = Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < d; j++) w[o + j]! /= n;
  }
}
