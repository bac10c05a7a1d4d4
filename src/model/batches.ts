import * as tf from '../backend/tfjs.js';
import type { TokenWindow } from './documents.js';
import { hookOrder } from './hooks.js';
import type { LlamaModel } from './llama.js';

/** Limits on one forward pass: tokens, and attention scores (batch x heads x seq x seq). */
export interface BatchLimits {
  maxTokens: number;
  maxScores: number;
}

export const DEFAULT_BATCH_LIMITS: BatchLimits = { maxTokens: 8192, maxScores: 1 << 24 };

/** Group windows, in order, into batches that fit `limits` when right-padded to their longest. */
export function* batchWindows(ws: Iterable<TokenWindow>, nHeads: number, limits: BatchLimits = DEFAULT_BATCH_LIMITS): Generator<TokenWindow[]> {
  let batch: TokenWindow[] = [];
  let longest = 0;
  for (const w of ws) {
    const l = Math.max(longest, w.tokens.length);
    const b = batch.length + 1;
    if (batch.length > 0 && (b * l > limits.maxTokens || b * nHeads * l * l > limits.maxScores)) {
      yield batch;
      batch = [];
      longest = 0;
    }
    batch.push(w);
    longest = Math.max(longest, w.tokens.length);
  }
  if (batch.length > 0) yield batch;
}

/** Token ids of a batch, right-padded with 0: [batch, longest]. */
export function paddedTokens(batch: readonly TokenWindow[]): tf.Tensor2D {
  const longest = Math.max(...batch.map((w) => w.tokens.length));
  const ids = new Int32Array(batch.length * longest);
  batch.forEach((w, i) => ids.set(w.tokens, i * longest));
  return tf.tensor2d(ids, [batch.length, longest], 'int32');
}

/**
 * Run the model on a batch up to the deepest of `hooks` and read each hook's activation back:
 * per hook a Float32Array [batch, longest, dModel] (padding rows included; callers skip them).
 */
export async function readHooks(model: LlamaModel, batch: readonly TokenWindow[], hooks: readonly string[], phases?: Record<string, number>): Promise<{ longest: number; acts: Float32Array[] }> {
  const points = hooks.map((h) => model.hook(h));
  const deepest = points.reduce((a, b) => (hookOrder(a) >= hookOrder(b) ? a : b));
  const captured = new Map<string, tf.Tensor>();
  const tokens = paddedTokens(batch);
  try {
    model.forward(tokens, {
      stopAfter: deepest.name,
      fast: true,
      lengths: batch.map((w) => w.tokens.length),
      phases,
      hooks: Object.fromEntries(hooks.map((h) => [h, (x: tf.Tensor3D) => void captured.set(h, tf.keep(x))])),
    });
    const acts = await Promise.all(hooks.map((h) => captured.get(h)!.data() as Promise<Float32Array>));
    return { longest: tokens.shape[1], acts };
  } finally {
    tokens.dispose();
    for (const t of captured.values()) t.dispose();
  }
}
