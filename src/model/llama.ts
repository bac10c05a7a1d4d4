import * as tf from '../backend/tfjs.js';
import { ModelError } from '../errors.js';
import type { LlamaConfig } from './config.js';
import { hookOrder, parseHook, type HookKind, type HookPoint, type Hooks } from './hooks.js';
import type { FastCore } from './fast/core.js';
import { FastLlama } from './fast/forward.js';
import type { KvCache } from './kv-cache.js';
import { causalMask, ropeTables, type RopeTables } from './rope.js';
import type { LlamaTokenizer } from './tokenizer.js';
import type { BlockWeights, LlamaWeights } from './weights.js';
import { disposeLlamaWeights } from './weights.js';

export interface ForwardOptions {
  /** Hook functions by hook name (`blocks.2.hook_resid_post`); see HookFn. */
  hooks?: Hooks;
  /**
   * Stop after this hook point and return no logits: harvesting a middle layer skips the rest of
   * the model and the vocabulary projection.
   */
  stopAfter?: string;
  /** Keys/values of earlier positions; the new tokens continue after them and are appended. */
  cache?: KvCache;
  /**
   * The no-gradient fast path (harvest, eval, generate): the whole pass in our own loops
   * (fast/forward.ts) instead of tfjs ops. The same values within float32 rounding and the same
   * hooks, but nothing for tf.grad to follow: leave it off where gradients are taken. Where its
   * WebAssembly kernels cannot run, the tfjs path runs instead.
   */
  fast?: boolean;
  /** Fast path: the real length of each sequence; its right padding is skipped (logits there are 0). */
  lengths?: readonly number[];
  /** Fast path: milliseconds per phase are added into this record (the bench's time split). */
  phases?: Record<string, number>;
}

/** RMSNorm (Zhang & Sennrich 2019) as llama.cpp computes it: x / sqrt(mean(x^2) + eps) * w. x [n, d] */
function rmsNorm(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): tf.Tensor2D {
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), w);
}

/**
 * A Llama-architecture language model on tfjs: RMSNorm, rotary embeddings, grouped-query
 * attention, SwiGLU feed-forward. `forward` is synchronous and differentiable (tf.grad works through
 * it); hooks read or replace activations at TransformerLens-named points.
 */
export class LlamaModel {
  /** Rotary tables for the whole context (the fast path and its workers copy them). */
  readonly rope: RopeTables;
  private fastPath?: FastLlama | null;

  constructor(
    readonly file: string,
    readonly config: LlamaConfig,
    readonly tokenizer: LlamaTokenizer,
    readonly weights: LlamaWeights,
  ) {
    this.rope = ropeTables(config.contextLength, config.nHeads * config.headDim, config.headDim, config.ropeBase);
  }

  /** The no-gradient pass's core (fast/core.ts), or null where its kernels cannot run. */
  fastCore(): FastCore | null {
    this.fastPath ??= FastLlama.create(this.config, this.weights, this.rope).fast;
    return this.fastPath?.core ?? null;
  }

  /** Check a hook name against this model. */
  hook(name: string): HookPoint {
    return parseHook(name, this.config.nLayers);
  }

  /**
   * Logits `[batch, seq, vocab]` for `tokens [batch, seq]` (int32), or null with `stopAfter`.
   * Sequences of different lengths may be right-padded: causal attention keeps padding from
   * affecting earlier positions.
   */
  forward(tokens: tf.Tensor2D, options: ForwardOptions = {}): tf.Tensor3D | null {
    const c = this.config;
    const [batch, seq] = tokens.shape;
    const past = options.cache?.length ?? 0;
    if (past + seq > this.rope.positions) {
      throw new ModelError(`${this.file}: ${past + seq} positions asked for, the model's context is ${c.contextLength}.`, `Use a context of at most ${c.contextLength} tokens.`);
    }
    const hooks = options.hooks ?? {};
    const points = new Map<string, HookPoint>(Object.keys(hooks).map((n) => [n, this.hook(n)]));
    const stop = options.stopAfter === undefined ? Infinity : hookOrder(this.hook(options.stopAfter));
    if (options.fast) {
      if (this.fastCore() && this.fastPath) {
        const ids = tokens.dataSync() as Int32Array;
        const result = this.fastPath.forward({ ids, batch, seq, lengths: options.lengths, hooks, points, stop, cache: options.cache, phases: options.phases });
        if (options.cache) options.cache.length = past + seq;
        return result;
      }
    }
    const apply = (x: tf.Tensor2D, layer: number, kind: HookKind): tf.Tensor2D => {
      const name = `blocks.${layer}.hook_${kind}`;
      const fn = hooks[name];
      if (!fn) return x;
      const replaced = fn(tf.reshape(x, [batch, seq, c.dModel]), points.get(name)!);
      if (!replaced) return x;
      if (replaced.shape.join() !== [batch, seq, c.dModel].join()) {
        throw new ModelError(`hook '${name}' returned shape [${replaced.shape.join(', ')}], expected [${batch}, ${seq}, ${c.dModel}].`, 'A replacing hook returns a tensor of the activation shape.');
      }
      return tf.reshape(replaced, [batch * seq, c.dModel]);
    };
    const done = (layer: number, kind: HookKind): boolean => hookOrder({ name: '', layer, kind }) >= stop;

    const result = tf.tidy((): tf.Tensor3D | undefined => {
      const cos = tf.slice(this.rope.cos, [past, 0], [seq, -1]);
      const sin = tf.slice(this.rope.sin, [past, 0], [seq, -1]);
      const mask = causalMask(seq, past);
      let x = tf.gather(this.weights.tokenEmbedding, tf.reshape(tokens, [-1]));
      for (let l = 0; l < c.nLayers; l++) {
        const w = this.weights.blocks[l]!;
        x = apply(x, l, 'resid_pre');
        if (done(l, 'resid_pre')) return undefined;
        const attn = apply(this.attention(w, rmsNorm(x, w.attnNorm, c.normEps), batch, seq, cos, sin, mask, l, options.cache), l, 'attn_out');
        if (done(l, 'attn_out')) return undefined;
        x = tf.add(x, attn);
        const h = rmsNorm(x, w.ffnNorm, c.normEps);
        const [gate, up] = tf.split(tf.matMul(h, w.wGateUp), 2, 1) as [tf.Tensor2D, tf.Tensor2D];
        const mlp = apply(tf.matMul(tf.mul(tf.mul(gate, tf.sigmoid(gate)), up), w.wDown), l, 'mlp_out');
        if (done(l, 'mlp_out')) return undefined;
        x = apply(tf.add(x, mlp), l, 'resid_post');
        if (done(l, 'resid_post')) return undefined;
      }
      const logits = tf.matMul(rmsNorm(x, this.weights.outputNorm, c.normEps), this.weights.wOut);
      return tf.reshape(logits, [batch, seq, c.vocabSize]) as tf.Tensor3D;
    });
    if (options.cache) options.cache.length = past + seq;
    return result ?? null;
  }

  /** Causal grouped-query self-attention with rotary embeddings. h [batch * seq, dModel] */
  private attention(w: BlockWeights, h: tf.Tensor2D, batch: number, seq: number, cos: tf.Tensor2D, sin: tf.Tensor2D, mask: tf.Tensor2D, layer: number, cache?: KvCache): tf.Tensor2D {
    const c = this.config;
    const qDim = c.nHeads * c.headDim;
    const kvDim = c.nKvHeads * c.headDim;
    const group = c.nHeads / c.nKvHeads;
    const [q, qSwap, k, kSwap, v] = tf.split(tf.matMul(h, w.wQkv), [qDim, qDim, kvDim, kvDim, kvDim], 1);
    const q3 = tf.add(tf.mul(tf.reshape(q!, [batch, seq, qDim]), cos), tf.mul(tf.reshape(qSwap!, [batch, seq, qDim]), sin));
    const kvCos = kvDim === qDim ? cos : tf.slice(cos, [0, 0], [seq, kvDim]);
    const kvSin = kvDim === qDim ? sin : tf.slice(sin, [0, 0], [seq, kvDim]);
    const k3 = tf.add(tf.mul(tf.reshape(k!, [batch, seq, kvDim]), kvCos), tf.mul(tf.reshape(kSwap!, [batch, seq, kvDim]), kvSin));
    // Query heads h = kv * group + g share key/value head kv: [batch, kvHeads, group * seq, headDim].
    const qh = tf.reshape(tf.transpose(tf.reshape(q3, [batch, seq, c.nKvHeads, group, c.headDim]), [0, 2, 3, 1, 4]), [batch, c.nKvHeads, group * seq, c.headDim]);
    let kh = tf.transpose(tf.reshape(k3, [batch, seq, c.nKvHeads, c.headDim]), [0, 2, 1, 3]) as tf.Tensor4D;
    let vh = tf.transpose(tf.reshape(v!, [batch, seq, c.nKvHeads, c.headDim]), [0, 2, 1, 3]) as tf.Tensor4D;
    if (cache) ({ k: kh, v: vh } = cache.extend(layer, kh, vh));
    const keys = kh.shape[2];
    const scores = tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(c.headDim));
    const masked = tf.add(tf.reshape(scores, [batch, c.nKvHeads, group, seq, keys]), mask);
    const probs = tf.reshape(tf.softmax(masked), [batch, c.nKvHeads, group * seq, keys]);
    const out = tf.reshape(tf.matMul(probs, vh), [batch, c.nKvHeads, group, seq, c.headDim]);
    const merged = tf.reshape(tf.transpose(out, [0, 3, 1, 2, 4]), [batch * seq, qDim]);
    return tf.matMul(merged, w.wO);
  }

  dispose(): void {
    disposeLlamaWeights(this.weights);
    tf.dispose([this.rope.cos, this.rope.sin]);
  }
}
