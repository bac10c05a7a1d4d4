import { Rng } from '../util/rng.js';
import { toFloat16Array } from '../io/float16.js';
import type { GgufEntry, GgufTensorToWrite } from './gguf/writer.js';

/** The shape of a Llama model to make up. */
export interface LlamaShape {
  dModel: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  ffnDim: number;
  vocabSize: number;
  contextLength: number;
  /** No output matrix: the logits use the token embedding (llama2.c's shared classifier). */
  tied?: boolean;
}

/** llama2.c's 15M TinyStories model (stories15M): the bench's "15M" shape. */
export const STORIES_15M: LlamaShape = { dModel: 288, nLayers: 6, nHeads: 6, nKvHeads: 6, ffnDim: 768, vocabSize: 32000, contextLength: 256, tied: true };
/** llama2.c's stories110M. */
export const STORIES_110M: LlamaShape = { dModel: 768, nLayers: 12, nHeads: 12, nKvHeads: 12, ffnDim: 2048, vocabSize: 32000, contextLength: 1024, tied: true };

/** Parameters of a Llama shape. */
export function llamaParameterCount(s: LlamaShape): number {
  const kv = (s.dModel / s.nHeads) * s.nKvHeads;
  const block = 2 * s.dModel + 2 * s.dModel * s.dModel + 2 * s.dModel * kv + 3 * s.dModel * s.ffnDim;
  return (s.tied ? 1 : 2) * s.vocabSize * s.dModel + s.dModel + s.nLayers * block;
}

/**
 * A vocabulary of `size` pieces: <unk>, <s>, </s>, the 256 byte tokens, printable ASCII
 * characters and their word-start forms, then filler pieces. Enough for the tokenizer to run.
 */
function vocabulary(size: number): { pieces: string[]; scores: number[]; types: number[] } {
  const pieces = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    pieces.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  for (let c = 33; c < 127 && pieces.length < size; c++) {
    pieces.push(String.fromCharCode(c));
    types.push(1);
  }
  for (let c = 33; c < 127 && pieces.length < size; c++) {
    pieces.push('\u2581' + String.fromCharCode(c));
    types.push(1);
  }
  while (pieces.length < size) {
    pieces.push(`\u2581w${pieces.length}`);
    types.push(1);
  }
  pieces.length = size;
  types.length = size;
  return { pieces, scores: pieces.map((_, i) => -i), types };
}

/**
 * A GGUF `llama` model of shape `s` with random weights (normal, std 0.02; norms 1), in F32 or
 * F16. For benchmarks of model sizes we do not ship, and for tests that need a model file.
 */
export function randomLlamaGguf(s: LlamaShape, options: { seed?: number; type?: 'F32' | 'F16'; name?: string } = {}): { entries: GgufEntry[]; tensors: GgufTensorToWrite[] } {
  const rng = new Rng(options.seed ?? 0);
  const type = options.type === 'F16' ? 1 : 0;
  const headDim = s.dModel / s.nHeads;
  const kv = headDim * s.nKvHeads;
  const v = vocabulary(s.vocabSize);
  const entries: GgufEntry[] = [
    { key: 'general.architecture', type: 'string', value: 'llama' },
    { key: 'general.name', type: 'string', value: options.name ?? 'random-llama' },
    { key: 'llama.context_length', type: 'u32', value: s.contextLength },
    { key: 'llama.embedding_length', type: 'u32', value: s.dModel },
    { key: 'llama.feed_forward_length', type: 'u32', value: s.ffnDim },
    { key: 'llama.attention.head_count', type: 'u32', value: s.nHeads },
    { key: 'llama.attention.head_count_kv', type: 'u32', value: s.nKvHeads },
    { key: 'llama.block_count', type: 'u32', value: s.nLayers },
    { key: 'llama.rope.dimension_count', type: 'u32', value: headDim },
    { key: 'llama.attention.layer_norm_rms_epsilon', type: 'f32', value: 1e-5 },
    { key: 'tokenizer.ggml.model', type: 'string', value: 'llama' },
    { key: 'tokenizer.ggml.tokens', type: 'string[]', value: v.pieces },
    { key: 'tokenizer.ggml.scores', type: 'f32[]', value: v.scores },
    { key: 'tokenizer.ggml.token_type', type: 'i32[]', value: v.types },
    { key: 'tokenizer.ggml.bos_token_id', type: 'u32', value: 1 },
    { key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: 2 },
  ];
  const tensors: GgufTensorToWrite[] = [];
  const add = (name: string, dims: number[], fill: 'normal' | 'ones'): void => {
    const n = dims.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    if (fill === 'ones') values.fill(1);
    else for (let i = 0; i < n; i++) values[i] = 0.02 * rng.normal();
    const data = type === 1 ? new Uint8Array(toFloat16Array(values).buffer) : new Uint8Array(values.buffer);
    tensors.push({ name, dims, type: dims.length === 1 ? 0 : type, data: dims.length === 1 ? new Uint8Array(values.buffer) : data });
  };
  add('token_embd.weight', [s.dModel, s.vocabSize], 'normal');
  for (let l = 0; l < s.nLayers; l++) {
    add(`blk.${l}.attn_norm.weight`, [s.dModel], 'ones');
    add(`blk.${l}.attn_q.weight`, [s.dModel, s.dModel], 'normal');
    add(`blk.${l}.attn_k.weight`, [s.dModel, kv], 'normal');
    add(`blk.${l}.attn_v.weight`, [s.dModel, kv], 'normal');
    add(`blk.${l}.attn_output.weight`, [s.dModel, s.dModel], 'normal');
    add(`blk.${l}.ffn_norm.weight`, [s.dModel], 'ones');
    add(`blk.${l}.ffn_gate.weight`, [s.dModel, s.ffnDim], 'normal');
    add(`blk.${l}.ffn_up.weight`, [s.dModel, s.ffnDim], 'normal');
    add(`blk.${l}.ffn_down.weight`, [s.ffnDim, s.dModel], 'normal');
  }
  add('output_norm.weight', [s.dModel], 'ones');
  if (!s.tied) add('output.weight', [s.dModel, s.vocabSize], 'normal');
  return { entries, tensors };
}
