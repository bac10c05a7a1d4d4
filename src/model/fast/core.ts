import type { LlamaConfig } from '../config.js';
import { hookOrder, type HookKind } from '../hooks.js';
import { KernelLayout, type KernelExports } from './kernels.js';
import { BLOCK_ARRAYS, packedArray, type PackedWeights } from './packed-weights.js';

/**
 * A hook of the core pass: `rows` [tokens, dModel] holds the packed (unpadded) activation of
 * every sequence, sequence b at rows starts[b] .. starts[b + 1]; the hook may read it and may
 * overwrite it in place (the rest of the pass uses what it holds afterwards).
 */
export type CoreHook = (rows: Float32Array, layer: number, kind: HookKind, starts: readonly number[]) => void;

/** What one core pass needs besides the weights. */
export interface CoreCall {
  /** Token ids [batch, seq], row-major. */
  ids: Int32Array;
  batch: number;
  seq: number;
  /** Real length of each sequence (the rest is right padding, skipped). */
  lengths: readonly number[];
  /** hookOrder of the last point to run (Infinity: the whole model and the logits). */
  stop: number;
  onHook?: CoreHook;
  /**
   * Generation: positions already processed, and the cache of their keys/values. `extend` gets
   * this step's keys and values [batch, kvHeads, seq, headDim] of `layer` and returns the full
   * ones [batch, kvHeads, past + seq, headDim].
   */
  past?: number;
  extend?: (layer: number, k: Float32Array, v: Float32Array) => { k: Float32Array; v: Float32Array };
  /**
   * Start at block `layer` with the residual stream `rows` [tokens, dModel] (packed) instead of
   * the token embeddings: the blocks before it are not run (a spliced evaluation runs them once).
   */
  from?: { layer: number; rows: Float32Array };
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
 * The no-gradient forward pass of a Llama model in our own loops, on plain arrays: products,
 * RMSNorm, SwiGLU, rotary embeddings, residual adds and causal attention in WebAssembly SIMD
 * (wasm/kernels.ts), the sequences packed without their padding. No tfjs: it runs in worker
 * threads too (pool.ts). Each sequence's values depend on that sequence alone (every loop works
 * row by row, or sequence by sequence, in a fixed order), so splitting a batch between instances
 * gives bit-identical activations.
 */
export class FastCore {
  private readonly blocks: BlockPointers[] = [];
  private readonly outputNorm: number;
  private readonly wOut: number;
  private readonly weightsEnd: number;
  private readonly embedding: Float32Array;
  /** Rotary tables [positions, qDim] (rope.ts). */
  private readonly cos: number;
  private readonly sin: number;

  constructor(private readonly k: KernelExports, readonly config: LlamaConfig, weights: PackedWeights) {
    const c = config;
    const layout = new KernelLayout(k, 65536);
    const names = [...Array.from({ length: c.nLayers }, (_, l) => BLOCK_ARRAYS.map((n) => `${l}.${n}`)).flat(), 'outputNorm', 'wOut', 'cos', 'sin'];
    for (const name of names) layout.reserve(name, packedArray(weights, name).length);
    const placed = layout.commit();
    for (const name of names) placed[name]!.view.set(packedArray(weights, name));
    for (let l = 0; l < c.nLayers; l++) {
      const p = (n: string): number => placed[`${l}.${n}`]!.ptr;
      this.blocks.push({ attnNorm: p('attnNorm'), wQkv: p('wQkv'), wO: p('wO'), ffnNorm: p('ffnNorm'), wGateUp: p('wGateUp'), wDown: p('wDown') });
    }
    this.outputNorm = placed['outputNorm']!.ptr;
    this.wOut = placed['wOut']!.ptr;
    this.cos = placed['cos']!.ptr;
    this.sin = placed['sin']!.ptr;
    this.weightsEnd = layout.end;
    this.embedding = packedArray(weights, 'embedding').slice();
  }

  /**
   * Logits [tokens, vocab] of the packed rows (a copy), or null when `stop` ends the pass at a
   * hook. Shapes: ids [batch, seq] right-padded to `seq`; the packed rows skip the padding.
   */
  run(call: CoreCall): Float32Array | null {
    const c = this.config;
    const k = this.k;
    const { batch, seq, ids, lengths, stop, phases, onHook, extend } = call;
    const past = call.past ?? 0;
    let last = performance.now();
    // Charge the time since the previous mark to `phase` (only when timing is asked for).
    const mark = phases
      ? (phase: string): void => {
          const now = performance.now();
          phases[phase] = (phases[phase] ?? 0) + now - last;
          last = now;
        }
      : (): void => {};
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
      ...(extend ? { kFull: batch * c.nKvHeads * keys * hd, vFull: batch * c.nKvHeads * keys * hd } : {}),
      ...(stop === Infinity ? { logits: n * c.vocabSize } : {}),
    };
    for (const [name, size] of Object.entries(sizes)) layout.reserve(name, size);
    const a = layout.commit();
    const x = a['x']!.view;
    mark('host');

    if (call.from) x.set(call.from.rows.subarray(0, n * d));
    else {
      for (let b = 0; b < batch; b++) {
        for (let t = 0; t < lengths[b]!; t++) {
          const id = ids[b * seq + t]!;
          x.set(this.embedding.subarray(id * d, id * d + d), (starts[b]! + t) * d);
        }
      }
    }
    const hook = (buf: Float32Array, layer: number, kind: HookKind): void => {
      if (!onHook) return;
      mark('host');
      onHook(buf, layer, kind, starts);
      mark('hooks');
    };
    const done = (layer: number, kind: HookKind): boolean => hookOrder({ name: '', layer, kind }) >= stop;

    for (let l = call.from?.layer ?? 0; l < c.nLayers; l++) {
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
      if (extend) {
        const full = extend(l, a['kk']!.view, a['vv']!.view);
        a['kFull']!.view.set(full.k);
        a['vFull']!.view.set(full.v);
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
    const logits = a['logits']!.view.slice();
    mark('host');
    return logits;
  }
}
