import * as tf from '@tensorflow/tfjs';
import { KvCache } from './kv-cache.js';
import type { LlamaModel } from './llama.js';

/**
 * Greedy (temperature 0) continuation of `prompt` token ids with a KV cache, as llama2.c's `run`
 * does: stop at `steps` total positions or when the model emits BOS or EOS.
 */
export async function generateGreedy(model: LlamaModel, prompt: number[], steps: number): Promise<number[]> {
  const out = prompt.slice();
  const cache = new KvCache(model.config.nLayers);
  try {
    let input = prompt;
    while (out.length < steps) {
      const next = tf.tidy(() => {
        const logits = model.forward(tf.tensor2d(input, [1, input.length], 'int32'), { cache, fast: true })!;
        return tf.argMax(tf.squeeze(tf.slice(logits, [0, input.length - 1, 0], [1, 1, -1])));
      });
      const id = (await next.data())[0]!;
      next.dispose();
      if (id === model.tokenizer.bos || id === model.tokenizer.eos) break;
      out.push(id);
      input = [id];
    }
  } finally {
    cache.dispose();
  }
  return out;
}
