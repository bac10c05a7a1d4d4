import { ModelError } from '../errors.js';
import { llamaConfig, SUPPORTED_ARCHITECTURES, type LlamaConfig } from './config.js';
import { readGgufHeader, type GgufValue } from './gguf/reader.js';
import { GGML_TYPES, SUPPORTED_TENSOR_TYPES } from './gguf/types.js';
import { HOOK_KINDS } from './hooks.js';
import { tokenizerFromGguf } from './tokenizer.js';

export interface ModelInspection {
  file: string;
  fileBytes: number;
  ggufVersion: number;
  architecture: string;
  name: string;
  /** The resolved config, or null when sae cannot run the model. */
  config: LlamaConfig | null;
  parameters: number;
  tokenizer: { model: string; vocabSize: number; bos: number | null; eos: number | null; addBos: boolean | null } | null;
  tensorTypes: Record<string, number>;
  tensors: { name: string; shape: number[]; type: string }[];
  /** Whether `sae` can run the model, and if not, why. */
  supported: boolean;
  unsupportedReason: string | null;
  hooks: string[];
}

function str(v: GgufValue | undefined): string {
  return v === undefined ? '' : String(v);
}

/** `sae model inspect`: what a GGUF file holds and what sae supports of it. Never loads weights. */
export function inspectModel(file: string): ModelInspection {
  const h = readGgufHeader(file);
  let config: LlamaConfig | null = null;
  let reason: string | null = null;
  let tokenizer: ModelInspection['tokenizer'] = null;
  try {
    config = llamaConfig(h);
    const t = tokenizerFromGguf(h);
    tokenizer = { model: 'llama (sentencepiece)', vocabSize: t.vocabSize, bos: t.bos, eos: t.eos, addBos: t.addBos };
  } catch (err) {
    if (!(err instanceof ModelError)) throw err;
    reason = `${err.message.replace(`${file}: `, '')} ${err.hint ?? ''}`.trim();
  }
  const tensorTypes: Record<string, number> = {};
  for (const t of h.tensors) {
    const name = GGML_TYPES[t.type]?.name ?? `type ${t.type}`;
    tensorTypes[name] = (tensorTypes[name] ?? 0) + 1;
  }
  return {
    file,
    fileBytes: h.fileSize,
    ggufVersion: h.version,
    architecture: str(h.metadata.get('general.architecture')),
    name: str(h.metadata.get('general.name')),
    config,
    parameters: h.tensors.reduce((s, t) => s + t.elements, 0),
    tokenizer,
    tensorTypes,
    tensors: h.tensors.map((t) => ({ name: t.name, shape: t.dims.slice().reverse(), type: GGML_TYPES[t.type]?.name ?? `type ${t.type}` })),
    supported: config !== null,
    unsupportedReason: reason,
    hooks: config ? HOOK_KINDS.map((k) => `blocks.{0..${config!.nLayers - 1}}.hook_${k}`) : [],
  };
}

/** Human-readable report. `allTensors` lists every tensor instead of the first block's. */
export function formatModelInspection(r: ModelInspection, allTensors = false): string {
  const lines = [`${r.file}: GGUF v${r.ggufVersion}, ${(r.fileBytes / 1e6).toFixed(2)} MB, architecture '${r.architecture}'${r.name ? `, name '${r.name}'` : ''}`];
  const c = r.config;
  if (c) {
    lines.push(
      `  d_model ${c.dModel}, ${c.nLayers} blocks, ${c.nHeads} heads (${c.nKvHeads} key/value heads, head size ${c.headDim}), FFN ${c.ffnDim}, vocabulary ${c.vocabSize}`,
      `  context ${c.contextLength}, RMSNorm eps ${c.normEps.toExponential(1)}, rope base ${c.ropeBase}, output ${c.tiedOutput ? 'tied to the embedding' : 'untied'}`,
      `  parameters ${r.parameters.toLocaleString('en-US')}`,
    );
  }
  if (r.tokenizer) lines.push(`  tokenizer ${r.tokenizer.model}, ${r.tokenizer.vocabSize} pieces, BOS ${r.tokenizer.bos}, EOS ${r.tokenizer.eos}, add BOS ${r.tokenizer.addBos}`);
  lines.push(`  tensor types: ${Object.entries(r.tensorTypes).map(([k, v]) => `${k} x${v}`).join(', ')}`);
  const shown = allTensors ? r.tensors : r.tensors.filter((t) => !/^blk\.(?!0\.)/.test(t.name));
  lines.push(`  tensors (${r.tensors.length}${allTensors ? '' : ', blocks after the first not shown; --all-tensors lists them'}):`);
  for (const t of shown) lines.push(`    ${t.name.padEnd(28)} ${t.type.padEnd(5)} [${t.shape.join(', ')}]`);
  if (r.supported) lines.push(`  supported: yes. Hook points: ${r.hooks.join(', ')}`);
  else lines.push(`  supported: no: ${r.unsupportedReason}`, `  sae runs ${SUPPORTED_ARCHITECTURES.join(', ')} models with ${SUPPORTED_TENSOR_TYPES.join(', ')} tensors.`);
  return lines.join('\n');
}
