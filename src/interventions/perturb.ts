import * as tf from '../backend/tfjs.js';
import type { LlamaModel } from '../model/llama.js';

/**
 * Next-token log-probabilities with `deltas` added to the activation at `hook` (an ablation with
 * the error term kept is delta = -f_i W_dec[i] at the positions it applies to).
 * tokens [batch, T] (int32), deltas [batch, T, d] -> [batch, T, vocab]
 */
export function logProbsWithDeltas(model: LlamaModel, hook: string, tokens: tf.Tensor2D, deltas: Float32Array): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, T] = tokens.shape;
    const delta = tf.tensor3d(deltas, [batch, T, model.config.dModel]);
    const logits = model.forward(tokens, { hooks: { [hook]: (x) => tf.add(x, delta) as tf.Tensor3D } })!;
    return tf.logSoftmax(logits) as tf.Tensor3D;
  });
}

/** logProbsWithDeltas over `batch` copies of one sequence. tokens [T], deltas [batch, T, d] -> [batch, T, vocab] */
export function perturbedLogProbs(model: LlamaModel, hook: string, tokens: readonly number[], deltas: Float32Array, batch: number): tf.Tensor3D {
  return tf.tidy(() => logProbsWithDeltas(model, hook, tf.tile(tf.tensor2d(Array.from(tokens), [1, tokens.length], 'int32'), [batch, 1]), deltas));
}

/** Write -scale * direction into deltas [.., T, d] at row `b`, position `p`. direction [d] */
export function setDelta(deltas: Float32Array, T: number, d: number, b: number, p: number, direction: ArrayLike<number>, scale: number): void {
  const o = (b * T + p) * d;
  for (let j = 0; j < d; j++) deltas[o + j] = -scale * direction[j]!;
}
