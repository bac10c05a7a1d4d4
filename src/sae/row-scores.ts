import * as tf from '../backend/tfjs.js';
import { decode, encode, type SaeTensors } from './forward.js';

/**
 * What scoring rows for resampling gives, packed in one array (one read-back):
 * [loss c | ||x||^2 c | ||x - b_dec||^2 c | sum over the rows of (x - b_dec) d], c = `rows`.
 */
export interface ScoredRows {
  rows: number;
  packed: Float32Array;
}

/** Rows per scoring chunk so that f [chunk, m] stays near 64 MB (256 to 4,096); `m` is m x workers where workers share a chunk. */
export function scoreChunkRows(m: number): number {
  return Math.max(256, Math.min(4096, Math.floor(2 ** 24 / m)));
}

/**
 * The packed scores of x's rows (ScoredRows): the squared reconstruction error ||x - x_hat||^2,
 * the paper's "loss" of the autoencoder on the input and what the reference PyTorch trainer
 * uses (no L1 term, as there), beside what the pool's statistics and the draw's exclusions need.
 * x [c, d] -> [3c + d]
 */
export function scoreRows(sae: SaeTensors, x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const f = encode(sae, x);
    return scoreRowsGiven(sae, x, f);
  });
}

/** scoreRows given x's activations f [c, m] = encode(sae, x). */
export function scoreRowsGiven(sae: SaeTensors, x: tf.Tensor2D, f: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const xc = tf.sub(x, sae.b_dec);
    const loss = tf.sum(tf.square(tf.sub(x, decode(sae, f))), 1);
    return tf.concat([loss, tf.sum(tf.square(x), 1), tf.sum(tf.square(xc), 1), tf.sum(xc, 0)]) as tf.Tensor1D;
  });
}
