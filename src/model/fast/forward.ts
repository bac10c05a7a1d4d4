import * as tf from '../../backend/tfjs.js';
import { ModelError } from '../../errors.js';
import type { LlamaConfig } from '../config.js';
import type { HookKind, HookPoint, Hooks } from '../hooks.js';
import type { KvCache } from '../kv-cache.js';
import type { RopeTables } from '../rope.js';
import type { LlamaWeights } from '../weights.js';
import { FastCore } from './core.js';
import { instantiateKernels } from './kernels.js';
import { packWeights } from './packed-weights.js';

/** What one fast forward call needs besides the token ids. */
export interface FastForwardCall {
  /** Token ids [batch, seq], row-major. */
  ids: Int32Array;
  batch: number;
  seq: number;
  /** Real length of each sequence (the rest is right padding, skipped); default: all seq. */
  lengths?: readonly number[];
  hooks: Hooks;
  points: ReadonlyMap<string, HookPoint>;
  /** hookOrder of the last point to run (Infinity: the whole model and the logits). */
  stop: number;
  cache?: KvCache;
  /** When given, milliseconds per phase are added into it (the bench's time split). */
  phases?: Record<string, number>;
}

/**
 * The no-gradient forward pass (core.ts, our own WebAssembly SIMD loops) behind tfjs hooks and a
 * tfjs KV cache. It reads the same weights as the tfjs path (LlamaModel.forward, the reference) and
 * calls the same hooks with tfjs tensors of the padded shape, so a hook cannot tell the two apart.
 * On small models it is many times faster: there tfjs's per-op cost and its batched products
 * (head size 8) dominate.
 */
export class FastLlama {
  private constructor(readonly core: FastCore) {}

  /** The fast path for this model, or null (and why) where its kernels cannot run. */
  static create(c: LlamaConfig, weights: LlamaWeights, rope: RopeTables): { fast: FastLlama | null; reason: string } {
    const { kernels, reason } = instantiateKernels();
    return { fast: kernels ? new FastLlama(new FastCore(kernels, c, packWeights(c, weights, rope, false))) : null, reason };
  }

  /** Logits [batch, seq, vocab] (zeros at padding), or null when `stop` ends the pass at a hook. */
  forward(call: FastForwardCall): tf.Tensor3D | null {
    const c = this.core.config;
    const { batch, seq, hooks, points, cache, phases } = call;
    const lengths = call.lengths ?? new Array<number>(batch).fill(seq);
    if (cache && lengths.some((l) => l !== seq)) throw new ModelError('the KV cache needs sequences of equal length.', 'Pass no lengths with a cache.');
    const d = c.dModel;
    // Hooks see and replace [batch, seq, dModel] tensors, padding rows zero.
    const onHook = (buf: Float32Array, layer: number, kind: HookKind, starts: readonly number[]): void => {
      const name = `blocks.${layer}.hook_${kind}`;
      const fn = hooks[name];
      if (!fn) return;
      const padded = new Float32Array(batch * seq * d);
      for (let b = 0; b < batch; b++) padded.set(buf.subarray(starts[b]! * d, starts[b + 1]! * d), b * seq * d);
      tf.tidy(() => {
        const replaced = fn(tf.tensor3d(padded, [batch, seq, d]), points.get(name)!);
        if (!replaced) return;
        if (replaced.shape.join() !== [batch, seq, d].join()) {
          throw new ModelError(`hook '${name}' returned shape [${replaced.shape.join(', ')}], expected [${batch}, ${seq}, ${d}].`, 'A replacing hook returns a tensor of the activation shape.');
        }
        const values = replaced.dataSync() as Float32Array;
        for (let b = 0; b < batch; b++) buf.set(values.subarray(b * seq * d, (b * seq + lengths[b]!) * d), starts[b]! * d);
      });
    };
    const extend = cache
      ? (layer: number, k: Float32Array, v: Float32Array): { k: Float32Array; v: Float32Array } => {
          const shape: [number, number, number, number] = [batch, c.nKvHeads, seq, c.headDim];
          let out = { k, v };
          tf.tidy(() => {
            const full = cache.extend(layer, tf.tensor4d(k.slice(), shape), tf.tensor4d(v.slice(), shape));
            out = { k: full.k.dataSync() as Float32Array, v: full.v.dataSync() as Float32Array };
          });
          return out;
        }
      : undefined;
    const packed = this.core.run({ ids: call.ids, batch, seq, lengths, stop: call.stop, onHook, past: cache?.length ?? 0, extend, phases });
    if (!packed) return null;
    const last = performance.now();
    const V = c.vocabSize;
    const logits = new Float32Array(batch * seq * V);
    let at = 0;
    for (let b = 0; b < batch; b++) {
      logits.set(packed.subarray(at * V, (at + lengths[b]!) * V), b * seq * V);
      at += lengths[b]!;
    }
    const out = tf.tensor3d(logits, [batch, seq, V]);
    if (phases) phases['host'] = (phases['host'] ?? 0) + performance.now() - last;
    return out;
  }
}
