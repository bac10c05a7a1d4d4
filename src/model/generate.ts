import * as tf from '../backend/tfjs.js';
import { KvCache } from './kv-cache.js';
import type { ForwardOptions, LlamaModel } from './llama.js';

export interface DecodeStep {
  /** Pick the next token from the last position's logits. */
  pick: (logits: Float32Array) => number;
  /**
   * Forward options for one step (the cache is added): `input` the tokens fed now, `past` the
   * positions already in the cache.
   */
  options: (input: readonly number[], past: number) => Omit<ForwardOptions, 'cache'>;
}

/**
 * Continue `prompt` through a KV cache for at most `count` new tokens, stopping early when the
 * model emits BOS or EOS (as llama2.c's `run` does). Returns the new token ids.
 */
export async function decode(model: LlamaModel, prompt: number[], count: number, step: DecodeStep): Promise<number[]> {
  const cache = new KvCache(model.config.nLayers);
  const generated: number[] = [];
  try {
    let input = prompt;
    while (generated.length < count) {
      const options = step.options(input, cache.length);
      const last = tf.tidy(() => {
        const logits = model.forward(tf.tensor2d(input, [1, input.length], 'int32'), { ...options, cache })!;
        return tf.reshape(tf.slice(logits, [0, input.length - 1, 0], [1, 1, -1]), [-1]);
      });
      const id = step.pick((await last.data()) as Float32Array);
      last.dispose();
      if (id === model.tokenizer.bos || id === model.tokenizer.eos) break;
      generated.push(id);
      input = [id];
    }
  } finally {
    cache.dispose();
  }
  return generated;
}

/** Index of the largest value (the first one on ties, as tf.argMax). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/**
 * Greedy (temperature 0) continuation of `prompt` token ids on the fast path: stop at `steps`
 * total positions or when the model emits BOS or EOS. Returns prompt and continuation.
 */
export async function generateGreedy(model: LlamaModel, prompt: number[], steps: number): Promise<number[]> {
  const more = await decode(model, prompt, steps - prompt.length, { pick: argmax, options: () => ({ fast: true }) });
  return [...prompt, ...more];
}
