import * as tf from '../backend/tfjs.js';
import type { LlamaModel } from '../model/llama.js';

/** The target's log-probability after a prompt and its gradient at a hook. */
export interface TargetGradient {
  /** log p(target | tokens), at the last position. */
  logp: number;
  /** The clean activation at the hook, x [T, d]. */
  x: Float32Array;
  /** d logp / d x at the hook, [T, d] (tfjs autodiff through the forward pass). */
  grad: Float32Array;
}

/** log p(target) at the last position of `logits [1, T, vocab]`, a scalar. */
export function lastLogProb(logits: tf.Tensor3D, target: number): tf.Scalar {
  return tf.tidy(() => {
    const T = logits.shape[1];
    const last = tf.reshape(tf.slice(logits, [0, T - 1, 0], [1, 1, -1]), [-1]);
    return tf.reshape(tf.slice(tf.logSoftmax(last), [target], [1]), []) as tf.Scalar;
  });
}

/**
 * log p(target | tokens) and its gradient with respect to the activation at `hook`: the forward
 * pass adds a zero perturbation there and tf.grad differentiates through the rest of the model.
 * tokens [T]
 */
export async function targetGradient(model: LlamaModel, hook: string, tokens: readonly number[], target: number): Promise<TargetGradient> {
  const T = tokens.length;
  const d = model.config.dModel;
  const input = tf.tensor2d(Array.from(tokens), [1, T], 'int32');
  const zero = tf.zeros([1, T, d]);
  let captured: tf.Tensor | null = null;
  const logp = (delta: tf.Tensor): tf.Scalar =>
    lastLogProb(
      model.forward(input, {
        hooks: {
          [hook]: (x) => {
            captured ??= tf.keep(tf.clone(x));
            return tf.add(x, delta) as tf.Tensor3D;
          },
        },
      })!,
      target,
    );
  const { value, grad } = tf.valueAndGrad(logp)(zero);
  try {
    const [v, x, g] = await Promise.all([value.data(), captured!.data(), grad.data()]);
    return { logp: v[0]!, x: x as Float32Array, grad: g as Float32Array };
  } finally {
    tf.dispose([input, zero, value, grad, captured!]);
  }
}
