import * as tf from '@tensorflow/tfjs';
import type { LlamaModel } from '../model/llama.js';

/**
 * Next-token log-probabilities of `batch` copies of one token sequence, copy b with `deltas[b]`
 * added to the activation at `hook` (an ablation with the error term kept is delta = -f_i W_dec[i]
 * at the positions it applies to). tokens [T], deltas [batch, T, d] -> [batch, T, vocab]
 */
export function perturbedLogProbs(model: LlamaModel, hook: string, tokens: readonly number[], deltas: Float32Array, batch: number): tf.Tensor3D {
  return tf.tidy(() => {
    const T = tokens.length;
    const input = tf.tile(tf.tensor2d(Array.from(tokens), [1, T], 'int32'), [batch, 1]);
    const delta = tf.tensor3d(deltas, [batch, T, model.config.dModel]);
    const logits = model.forward(input, { hooks: { [hook]: (x) => tf.add(x, delta) as tf.Tensor3D } })!;
    return tf.logSoftmax(logits) as tf.Tensor3D;
  });
}

/** Write -scale * direction into deltas [.., T, d] at row `b`, position `p`. direction [d] */
export function setDelta(deltas: Float32Array, T: number, d: number, b: number, p: number, direction: ArrayLike<number>, scale: number): void {
  const o = (b * T + p) * d;
  for (let j = 0; j < d; j++) deltas[o + j] = -scale * direction[j]!;
}
