import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../../errors.js';
import type { LlamaConfig } from '../config.js';
import { hookOrder, type HookKind, type HookPoint, type Hooks } from '../hooks.js';
import type { KvCache } from '../kv-cache.js';
import type { RopeTables } from '../rope.js';
import type { LlamaWeights } from '../weights.js';
import { instantiateKernels, KernelLayout, type KernelExports } from './kernels.js';

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

interface BlockPointers {
  attnNorm: number;
  wQkv: number;
  wO: number;
  ffnNorm: number;
  wGateUp: number;
  wDown: number;
}

/**
 * The no-gradient forward pass of a Llama model in our own loops: products, RMSNorm, SwiGLU,
 * rotary embeddings, residual adds and causal attention in WebAssembly SIMD (wasm/kernels.ts), the
 * sequences packed without their padding. It reads the same weights as the tfjs path
 * (LlamaModel.forward, the reference) and calls the same hooks with tfjs tensors of the padded
 * shape, so a hook cannot tell the two apart. On small models it is many times faster: there
 * tfjs's per-op cost and its batched products (head size 8) dominate.
 */
export class FastLlama {
  private readonly blocks: BlockPointers[] = [];
  private readonly outputNorm: number;
  private readonly wOut: number;
  private readonly weightsEnd: number;
  private readonly embedding: Float32Array;
  /** Rotary tables [positions, qDim] (rope.ts). */
  private readonly cos: number;
  private readonly sin: number;

  private constructor(private readonly k: KernelExports, private readonly c: LlamaConfig, weights: LlamaWeights, rope: RopeTables) {
    const layout = new KernelLayout(k, 65536);
    const tensors: [string, tf.Tensor][] = [];
    weights.blocks.forEach((b, l) => {
      for (const [name, t] of Object.entries(b)) tensors.push([`${l}.${name}`, t as tf.Tensor]);
    });
    tensors.push(['outputNorm', weights.outputNorm], ['wOut', weights.wOut], ['cos', rope.cos], ['sin', rope.sin]);
    for (const [name, t] of tensors) layout.reserve(name, t.size);
    const placed = layout.commit();
    for (const [name, t] of tensors) placed[name]!.view.set(t.dataSync() as Float32Array);
    for (let l = 0; l < c.nLayers; l++) {
      const p = (n: string): number => placed[`${l}.${n}`]!.ptr;
      this.blocks.push({ attnNorm: p('attnNorm'), wQkv: p('wQkv'), wO: p('wO'), ffnNorm: p('ffnNorm'), wGateUp: p('wGateUp'), wDown: p('wDown') });
    }
    this.outputNorm = placed['outputNorm']!.ptr;
    this.wOut = placed['wOut']!.ptr;
    this.cos = placed['cos']!.ptr;
    this.sin = placed['sin']!.ptr;
    this.weightsEnd = layout.end;
    this.embedding = weights.tokenEmbedding.dataSync() as Float32Array;
  }

  /** The fast path for this model, or null (and why) where its kernels cannot run. */
  static create(c: LlamaConfig, weights: LlamaWeights, rope: RopeTables): { fast: FastLlama | null; reason: string } {
    const { kernels, reason } = instantiateKernels();
    return { fast: kernels ? new FastLlama(kernels, c, weights, rope) : null, reason };
  }

  /** Logits [batch, seq, vocab] (zeros at padding), or null when `stop` ends the pass at a hook. */
  forward(call: FastForwardCall): tf.Tensor3D | null {
    const c = this.c;
    const k = this.k;
    const { batch, seq, ids, hooks, points, stop, cache, phases } = call;
    let last = performance.now();
    // Charge the time since the previous mark to `phase` (only when timing is asked for).
    const mark = phases
      ? (phase: string): void => {
          const now = performance.now();
          phases[phase] = (phases[phase] ?? 0) + now - last;
          last = now;
        }
      : (): void => {};
    const lengths = call.lengths ?? new Array<number>(batch).fill(seq);
    if (cache && lengths.some((l) => l !== seq)) throw new ModelError('the KV cache needs sequences of equal length.', 'Pass no lengths with a cache.');
    const past = cache?.length ?? 0;
    const d = c.dModel;
    const hd = c.headDim;
    const qDim = c.nHeads * hd;
    const kvDim = c.nKvHeads * hd;
    const width = 2 * qDim + 3 * kvDim;
    const f = c.ffnDim;
    const starts = [0];
    for (const l of lengths) starts.push(starts[starts.length - 1]! + l);
    const n = starts[batch]!;
    const keys = past + seq;

    const layout = new KernelLayout(k, this.weightsEnd);
    const sizes: Record<string, number> = {
      x: n * d, h: n * d, o: n * d, qkv: n * width, q: n * qDim, kk: n * kvDim, vv: n * kvDim, att: n * qDim, gu: n * 2 * f, act: n * f,
      scratch: (hd + 4) * (Math.ceil(keys / 8) * 8) + 4 * hd,
      ...(cache ? { kFull: batch * c.nKvHeads * keys * hd, vFull: batch * c.nKvHeads * keys * hd } : {}),
      ...(stop === Infinity ? { logits: n * c.vocabSize } : {}),
    };
    for (const [name, size] of Object.entries(sizes)) layout.reserve(name, size);
    const a = layout.commit();
    const x = a['x']!.view;
    mark('host');

    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < lengths[b]!; t++) {
        const id = ids[b * seq + t]!;
        x.set(this.embedding.subarray(id * d, id * d + d), (starts[b]! + t) * d);
      }
    }
    // Hooks see and replace [batch, seq, dModel] tensors, padding rows zero.
    const hook = (buf: Float32Array, layer: number, kind: HookKind): void => {
      const name = `blocks.${layer}.hook_${kind}`;
      const fn = hooks[name];
      if (!fn) return;
      mark('host');
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
      mark('hooks');
    };
    const done = (layer: number, kind: HookKind): boolean => hookOrder({ name: '', layer, kind }) >= stop;

    for (let l = 0; l < c.nLayers; l++) {
      const w = this.blocks[l]!;
      hook(x, l, 'resid_pre');
      if (done(l, 'resid_pre')) return null;
      k.rmsNorm(n, d, a['x']!.ptr, w.attnNorm, c.normEps, a['h']!.ptr);
      mark('norms and SwiGLU');
      k.matmul(n, d, width, a['h']!.ptr, w.wQkv, a['qkv']!.ptr);
      mark('products');
      for (let b = 0; b < batch; b++) {
        const at = (name: string, rowWidth: number): number => a[name]!.ptr + starts[b]! * rowWidth * 4;
        k.rope(lengths[b]!, past, c.nHeads, c.nKvHeads, hd, at('qkv', width), this.cos, this.sin, at('q', qDim), at('kk', kvDim), at('vv', kvDim));
      }
      mark('host');
      if (cache) {
        const [kT, vT] = [a['kk']!, a['vv']!].map((t) => tf.tensor4d(t.view.slice(), [batch, c.nKvHeads, seq, hd]));
        tf.tidy(() => {
          const full = cache.extend(l, kT!, vT!);
          a['kFull']!.view.set(full.k.dataSync() as Float32Array);
          a['vFull']!.view.set(full.v.dataSync() as Float32Array);
        });
        tf.dispose([kT!, vT!]);
        k.attention(batch, seq, past, c.nHeads, c.nKvHeads, hd, a['q']!.ptr, a['kFull']!.ptr, a['vFull']!.ptr, a['att']!.ptr, a['scratch']!.ptr);
      } else {
        for (let b = 0; b < batch; b++) {
          const len = lengths[b]!;
          if (len === 0) continue;
          const at = (name: string, rowWidth: number): number => a[name]!.ptr + starts[b]! * rowWidth * 4;
          k.attention(1, len, 0, c.nHeads, c.nKvHeads, hd, at('q', qDim), at('kk', kvDim), at('vv', kvDim), at('att', qDim), a['scratch']!.ptr);
        }
      }
      mark('attention');
      k.matmul(n, qDim, d, a['att']!.ptr, w.wO, a['o']!.ptr);
      mark('products');
      hook(a['o']!.view, l, 'attn_out');
      if (done(l, 'attn_out')) return null;
      k.addInto(n * d, a['x']!.ptr, a['o']!.ptr);
      mark('host');
      k.rmsNorm(n, d, a['x']!.ptr, w.ffnNorm, c.normEps, a['h']!.ptr);
      mark('norms and SwiGLU');
      k.matmul(n, d, 2 * f, a['h']!.ptr, w.wGateUp, a['gu']!.ptr);
      mark('products');
      k.swiglu(n, f, a['gu']!.ptr, a['act']!.ptr);
      mark('norms and SwiGLU');
      k.matmul(n, f, d, a['act']!.ptr, w.wDown, a['o']!.ptr);
      mark('products');
      hook(a['o']!.view, l, 'mlp_out');
      if (done(l, 'mlp_out')) return null;
      k.addInto(n * d, a['x']!.ptr, a['o']!.ptr);
      mark('host');
      hook(x, l, 'resid_post');
      if (done(l, 'resid_post')) return null;
    }
    k.rmsNorm(n, d, a['x']!.ptr, this.outputNorm, c.normEps, a['h']!.ptr);
    k.matmul(n, d, c.vocabSize, a['h']!.ptr, this.wOut, a['logits']!.ptr);
    mark('products');
    const V = c.vocabSize;
    const logits = new Float32Array(batch * seq * V);
    const packed = a['logits']!.view;
    for (let b = 0; b < batch; b++) logits.set(packed.subarray(starts[b]! * V, starts[b + 1]! * V), b * seq * V);
    const out = tf.tensor3d(logits, [batch, seq, V]);
    mark('host');
    return out;
  }
}
