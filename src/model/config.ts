import { ModelError } from '../errors.js';
import type { GgufHeader, GgufTensorInfo, GgufValue } from './gguf/reader.js';
import { GGML_TYPES, SUPPORTED_TENSOR_TYPES } from './gguf/types.js';

/** The shape of a Llama-architecture model, resolved once from GGUF metadata. */
export interface LlamaConfig {
  architecture: 'llama';
  /** general.name, when the file has one. */
  name: string;
  dModel: number;
  nLayers: number;
  nHeads: number;
  /** Grouped-query attention: heads share key/value projections in groups of nHeads / nKvHeads. */
  nKvHeads: number;
  headDim: number;
  ffnDim: number;
  vocabSize: number;
  contextLength: number;
  normEps: number;
  ropeBase: number;
  /** Rotated dimensions per head (llama.rope.dimension_count), usually headDim. */
  ropeDim: number;
  /** No `output.weight`: the logits use the token embedding matrix. */
  tiedOutput: boolean;
}

export const SUPPORTED_ARCHITECTURES = ['llama'];

function num(header: GgufHeader, key: string, fallback?: number): number {
  const v = header.metadata.get(key);
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ModelError(`${header.file}: metadata '${key}' is ${v === undefined ? 'missing' : JSON.stringify(describe(v))}, expected a number.`, 'The GGUF file is incomplete; convert the model again with llama.cpp.');
  }
  return v;
}

function describe(v: GgufValue): unknown {
  return Array.isArray(v) ? `an array of ${v.length}` : typeof v === 'bigint' ? v.toString() : v;
}

/** Expected shape per tensor, in ggml order (dims[0] = the input width of a matrix). */
function expectedTensors(c: LlamaConfig): Map<string, number[]> {
  const kv = c.nKvHeads * c.headDim;
  const m = new Map<string, number[]>([
    ['token_embd.weight', [c.dModel, c.vocabSize]],
    ['output_norm.weight', [c.dModel]],
  ]);
  if (!c.tiedOutput) m.set('output.weight', [c.dModel, c.vocabSize]);
  for (let l = 0; l < c.nLayers; l++) {
    m.set(`blk.${l}.attn_norm.weight`, [c.dModel]);
    m.set(`blk.${l}.attn_q.weight`, [c.dModel, c.nHeads * c.headDim]);
    m.set(`blk.${l}.attn_k.weight`, [c.dModel, kv]);
    m.set(`blk.${l}.attn_v.weight`, [c.dModel, kv]);
    m.set(`blk.${l}.attn_output.weight`, [c.nHeads * c.headDim, c.dModel]);
    m.set(`blk.${l}.ffn_norm.weight`, [c.dModel]);
    m.set(`blk.${l}.ffn_gate.weight`, [c.dModel, c.ffnDim]);
    m.set(`blk.${l}.ffn_up.weight`, [c.dModel, c.ffnDim]);
    m.set(`blk.${l}.ffn_down.weight`, [c.ffnDim, c.dModel]);
  }
  return m;
}

/**
 * Resolve and check a Llama config from a GGUF header: architecture, dimensions, and every tensor
 * the forward pass needs present with the right shape and a supported type.
 */
export function llamaConfig(header: GgufHeader): LlamaConfig {
  const arch = header.metadata.get('general.architecture');
  if (arch !== 'llama') {
    throw new ModelError(`${header.file}: architecture '${String(arch ?? '(missing)')}' is not supported.`, `sae runs ${SUPPORTED_ARCHITECTURES.join(', ')} models (GGUF general.architecture).`);
  }
  const dModel = num(header, 'llama.embedding_length');
  const nHeads = num(header, 'llama.attention.head_count');
  const nKvHeads = num(header, 'llama.attention.head_count_kv', nHeads);
  const headDim = dModel / nHeads;
  const tokens = header.metadata.get('tokenizer.ggml.tokens');
  const embd = header.tensors.find((t) => t.name === 'token_embd.weight');
  const vocabSize = Array.isArray(tokens) ? tokens.length : (embd?.dims[1] ?? 0);
  const config: LlamaConfig = {
    architecture: 'llama',
    name: String(header.metadata.get('general.name') ?? ''),
    dModel,
    nLayers: num(header, 'llama.block_count'),
    nHeads,
    nKvHeads,
    headDim,
    ffnDim: num(header, 'llama.feed_forward_length'),
    vocabSize,
    contextLength: num(header, 'llama.context_length'),
    normEps: num(header, 'llama.attention.layer_norm_rms_epsilon'),
    ropeBase: num(header, 'llama.rope.freq_base', 10000),
    ropeDim: num(header, 'llama.rope.dimension_count', headDim),
    tiedOutput: !header.tensors.some((t) => t.name === 'output.weight'),
  };
  const ints: (keyof LlamaConfig)[] = ['dModel', 'nLayers', 'nHeads', 'nKvHeads', 'headDim', 'ffnDim', 'vocabSize', 'contextLength'];
  for (const k of ints) {
    const v = config[k] as number;
    if (!Number.isInteger(v) || v < 1 || v > 1 << 24) throw new ModelError(`${header.file}: ${k} is ${v}, expected a positive integer.`, 'The GGUF metadata is inconsistent; convert the model again.');
  }
  if (nHeads % nKvHeads !== 0) throw new ModelError(`${header.file}: ${nHeads} attention heads do not split into ${nKvHeads} key/value groups.`, 'The GGUF metadata is inconsistent; convert the model again.');
  if (config.ropeDim !== headDim) throw new ModelError(`${header.file}: partial rotary embeddings (rope.dimension_count ${config.ropeDim} of head size ${headDim}) are not supported.`, 'sae runs Llama models that rotate the whole head.');
  checkTensors(header, config);
  return config;
}

function checkTensors(header: GgufHeader, config: LlamaConfig): void {
  const byName = new Map<string, GgufTensorInfo>(header.tensors.map((t) => [t.name, t]));
  for (const [name, dims] of expectedTensors(config)) {
    const t = byName.get(name);
    if (!t) throw new ModelError(`${header.file}: tensor '${name}' is missing.`, 'The file is not a complete llama model; convert it again.');
    if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) {
      throw new ModelError(`${header.file}: tensor '${name}' has shape [${t.dims.join(', ')}], expected [${dims.join(', ')}] for this model's metadata.`, 'The tensors do not match the metadata; convert the model again.');
    }
    const type = GGML_TYPES[t.type];
    if (!type?.supported) {
      throw new ModelError(`${header.file}: tensor '${name}' has type ${type?.name ?? `unknown (${t.type})`}, which sae does not read.`, `sae reads ${SUPPORTED_TENSOR_TYPES.join(', ')} tensors; re-quantise the model (llama-quantize ... Q8_0) or use the F16/F32 file.`);
    }
  }
}
