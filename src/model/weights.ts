import * as tf from '../backend/tfjs.js';
import type { LlamaConfig } from './config.js';
import { dequantize } from './gguf/dequantize.js';
import { readTensorBytes, type GgufHeader } from './gguf/reader.js';

/** One block's parameters, laid out for `x [tokens, dModel] @ W [in, out]`. */
export interface BlockWeights {
  attnNorm: tf.Tensor1D;
  /**
   * Q, Q·R, K, K·R and V projections side by side, [dModel, 2 qDim + 3 kvDim]: R is the rotary
   * pair swap (x[2i], x[2i+1]) -> (-x[2i+1], x[2i]), so rope(q) = q * cos + (q R) * sin costs no
   * extra op per token.
   */
  wQkv: tf.Tensor2D;
  wO: tf.Tensor2D;
  ffnNorm: tf.Tensor1D;
  /** Gate and up projections side by side, [dModel, 2 ffnDim]. */
  wGateUp: tf.Tensor2D;
  wDown: tf.Tensor2D;
}

export interface LlamaWeights {
  /** [vocab, dModel] */
  tokenEmbedding: tf.Tensor2D;
  blocks: BlockWeights[];
  outputNorm: tf.Tensor1D;
  /** [dModel, vocab] */
  wOut: tf.Tensor2D;
}

function load(header: GgufHeader, name: string): { values: Float32Array; dims: number[] } {
  const t = header.tensors.find((x) => x.name === name)!;
  return { values: dequantize(readTensorBytes(header, t), t.type, t.elements, `${header.file}: ${name}`), dims: t.dims };
}

/**
 * Copy a ggml matrix (row-major [out, in], dims = [in, out]) transposed into columns
 * `col .. col + out` of `dst [in, width]`; with `swapPairs`, the columns are those of W^T R.
 */
function placeTransposed(src: Float32Array, inDim: number, outDim: number, dst: Float32Array, width: number, col: number, swapPairs = false): void {
  for (let o = 0; o < outDim; o++) {
    const target = swapPairs ? (o % 2 === 0 ? o + 1 : o - 1) : o;
    const sign = swapPairs ? (o % 2 === 0 ? 1 : -1) : 1;
    // (W^T R)[:, 2i+1] = W^T[:, 2i] and (W^T R)[:, 2i] = -W^T[:, 2i+1].
    for (let i = 0; i < inDim; i++) dst[i * width + col + target] = sign * src[o * inDim + i]!;
  }
}

function matrix(header: GgufHeader, parts: { name: string; swap?: boolean }[]): tf.Tensor2D {
  const loaded = parts.map((p) => ({ ...load(header, p.name), swap: p.swap ?? false }));
  const inDim = loaded[0]!.dims[0]!;
  const width = loaded.reduce((s, p) => s + p.dims[1]!, 0);
  const dst = new Float32Array(inDim * width);
  let col = 0;
  for (const p of loaded) {
    placeTransposed(p.values, inDim, p.dims[1]!, dst, width, col, p.swap);
    col += p.dims[1]!;
  }
  return tf.tensor2d(dst, [inDim, width]);
}

function vector(header: GgufHeader, name: string): tf.Tensor1D {
  return tf.tensor1d(load(header, name).values);
}

/** Dequantise every tensor the forward pass needs into tfjs tensors (owned by the caller). */
export function loadLlamaWeights(header: GgufHeader, c: LlamaConfig): LlamaWeights {
  const blocks: BlockWeights[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `blk.${l}.`;
    blocks.push({
      attnNorm: vector(header, p + 'attn_norm.weight'),
      wQkv: matrix(header, [
        { name: p + 'attn_q.weight' },
        { name: p + 'attn_q.weight', swap: true },
        { name: p + 'attn_k.weight' },
        { name: p + 'attn_k.weight', swap: true },
        { name: p + 'attn_v.weight' },
      ]),
      wO: matrix(header, [{ name: p + 'attn_output.weight' }]),
      ffnNorm: vector(header, p + 'ffn_norm.weight'),
      wGateUp: matrix(header, [{ name: p + 'ffn_gate.weight' }, { name: p + 'ffn_up.weight' }]),
      wDown: matrix(header, [{ name: p + 'ffn_down.weight' }]),
    });
  }
  const embd = load(header, 'token_embd.weight');
  return {
    tokenEmbedding: tf.tensor2d(embd.values, [c.vocabSize, c.dModel]),
    blocks,
    outputNorm: vector(header, 'output_norm.weight'),
    wOut: matrix(header, [{ name: c.tiedOutput ? 'token_embd.weight' : 'output.weight' }]),
  };
}

export function disposeLlamaWeights(w: LlamaWeights): void {
  tf.dispose([w.tokenEmbedding, w.outputNorm, w.wOut]);
  for (const b of w.blocks) tf.dispose([b.attnNorm, b.wQkv, b.wO, b.ffnNorm, b.wGateUp, b.wDown]);
}
