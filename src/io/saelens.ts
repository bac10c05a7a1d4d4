import fs from 'node:fs';
import path from 'node:path';
import { RunError } from '../errors.js';
import type { SaeWeights } from '../sae/params.js';
import type { Activation } from '../sae/activation.js';
import { fsError, writeJsonAtomic } from './atomic.js';
import { RUN_FORMAT_VERSION } from './run-layout.js';
import { readSafetensorsFile, requireFloatTensor, writeSafetensorsFile, type TensorToWrite } from './safetensors.js';

/**
 * A folder SAELens' `SAE.load_from_disk(path)` accepts:
 *
 *   cfg.json                 the config below
 *   sae_weights.safetensors  exactly W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_enc [d_sae], b_dec [d_in],
 *                            and for 'jumprelu' threshold [d_sae]
 *   sparsity.safetensors     'sparsity' [d_sae]: log10 of each feature's firing frequency (optional;
 *                            float32 always, as SAELens writes it)
 *
 * The architecture follows the dictionary's activation: ReLU 'standard'; TopK 'topk' with `k`
 * (v6's TopKSAEConfig field) and activation_fn 'topk' with activation_fn_kwargs {k} (how v3-v5
 * spelled it, which v6 converts too); JumpReLU (and BatchTopK, saved as SAELens saves it)
 * 'jumprelu' with the per-feature `threshold` tensor.
 *
 * cfg.json carries the keys of both config generations, because each SAELens version keeps the
 * keys it knows and drops the rest:
 *  - v6 (`SAEConfig` + `metadata`): architecture, d_in, d_sae, dtype, device, apply_b_dec_to_input,
 *    normalize_activations, reshape_activations, metadata {model_name, hook_name, hook_layer,
 *    hook_head_index, prepend_bos, context_size, dataset_path}.
 *  - v3-v5 (flat dataclass, every field required): activation_fn_str, finetuning_scaling_factor,
 *    model_name, hook_name, hook_layer, hook_head_index, prepend_bos, context_size, dataset_path,
 *    dataset_trust_remote_code, sae_lens_training_version, activation_fn_kwargs, neuronpedia_id,
 *    model_from_pretrained_kwargs; plus `activation_fn` (the v6 spelling of activation_fn_str).
 * No `sae_lens_version` is written: v6 then treats the file as pre-6 and converts the flat keys
 * itself (handle_pre_6_0_config), which works across v6 releases whose metadata class differed.
 * `sae_tool` records provenance (format version, the run's data metadata, caller extras); SAELens
 * ignores it. Weights are in raw-activation units, so normalize_activations is 'none'.
 */

/** What the caller knows about a dictionary beyond its weights. */
export interface DictionaryMeta {
  /** Schema metadata of the training data (model, layer, hook, ...). */
  dataMetadata: Record<string, string>;
  /** log10 firing frequency per feature [m] (SAELens' "sparsity"); stored as float32 (or float16). */
  log10Density?: Float32Array | Float64Array;
  /** Tensor storage type; default float32. */
  dtype?: 'float32' | 'float16';
  /** Extra provenance strings, kept under cfg.sae_tool. */
  extra?: Record<string, string>;
}

export type SaelensCfg = Record<string, unknown> & { architecture: string; d_in: number; d_sae: number; dtype: string };

export const SAELENS_FILES = { cfg: 'cfg.json', weights: 'sae_weights.safetensors', sparsity: 'sparsity.safetensors' } as const;

function intOrNull(s: string | undefined): number | null {
  return s !== undefined && /^\d+$/.test(s.trim()) ? Number(s.trim()) : null;
}

/** The activation's model layer, from data metadata `layer` (or `hook_layer`). */
export function layerFrom(meta: Record<string, string>): number | null {
  return intOrNull(meta['layer'] ?? meta['hook_layer']);
}

/** hook_name written when the data's metadata names no hook (nothing is guessed). */
export const UNKNOWN_HOOK = 'unknown';

/**
 * TransformerLens hook name from data metadata: `hook_name` as given; a dotted `hook` as given;
 * `hook` with `layer` as `blocks.<layer>.hook_<hook>`, `hook` alone as `hook_<hook>`. Without a
 * hook the metadata does not say which activations these are: UNKNOWN_HOOK.
 */
export function hookNameFrom(meta: Record<string, string>): string {
  if (meta['hook_name']) return meta['hook_name'];
  const hook = meta['hook'];
  if (!hook) return UNKNOWN_HOOK;
  if (hook.includes('.')) return hook;
  const h = hook.startsWith('hook_') ? hook : `hook_${hook}`;
  const layer = layerFrom(meta);
  return layer === null ? h : `blocks.${layer}.${h}`;
}

export function modelNameFrom(meta: Record<string, string>): string {
  return meta['model'] ?? meta['model_name'] ?? 'unknown';
}

/** The cfg.json object for a d x m dictionary. */
export function buildSaelensCfg(d: number, m: number, meta: DictionaryMeta, activation: Activation = { kind: 'relu' }): SaelensCfg {
  const data = meta.dataMetadata;
  const modelName = modelNameFrom(data);
  const hookName = hookNameFrom(data);
  const hookLayer = layerFrom(data);
  const contextSize = intOrNull(data['context_size'] ?? data['seq_len'] ?? data['n_ctx']);
  const prependBos = data['prepend_bos'] !== undefined ? data['prepend_bos'] === 'true' : true;
  const datasetPath = data['dataset_path'] ?? data['dataset'] ?? '';
  const topk = activation.kind === 'topk' ? activation.k : null;
  return {
    architecture: saelensArchitecture(activation),
    d_in: d,
    d_sae: m,
    dtype: meta.dtype ?? 'float32',
    device: 'cpu',
    apply_b_dec_to_input: true,
    normalize_activations: 'none',
    reshape_activations: 'none',
    ...(topk !== null ? { k: topk } : {}),
    activation_fn: topk !== null ? 'topk' : 'relu',
    activation_fn_str: topk !== null ? 'topk' : 'relu',
    activation_fn_kwargs: topk !== null ? { k: topk } : {},
    finetuning_scaling_factor: false,
    model_name: modelName,
    hook_name: hookName,
    hook_layer: hookLayer,
    hook_head_index: null,
    prepend_bos: prependBos,
    context_size: contextSize,
    dataset_path: datasetPath,
    dataset_trust_remote_code: false,
    sae_lens_training_version: null,
    neuronpedia_id: null,
    model_from_pretrained_kwargs: {},
    metadata: {
      model_name: modelName,
      hook_name: hookName,
      hook_layer: hookLayer,
      hook_head_index: null,
      prepend_bos: prependBos,
      context_size: contextSize,
      dataset_path: datasetPath,
    },
    sae_tool: {
      format_version: RUN_FORMAT_VERSION,
      data_metadata: { ...data },
      ...(meta.extra ?? {}),
    },
  };
}

/** SAELens' architecture name for an activation. */
export function saelensArchitecture(a: Activation): 'standard' | 'topk' | 'jumprelu' {
  return a.kind === 'relu' ? 'standard' : a.kind;
}

/** The SAE tensors in SAELens' names and layout (plus `threshold` for JumpReLU), stored as F32 or F16. */
export function weightTensors(w: SaeWeights, dtype: 'float32' | 'float16' = 'float32'): Record<string, TensorToWrite> {
  const t = dtype === 'float16' ? 'F16' : 'F32';
  return {
    W_enc: { dtype: t, shape: [w.d, w.m], data: w.W_enc },
    W_dec: { dtype: t, shape: [w.m, w.d], data: w.W_dec },
    b_enc: { dtype: t, shape: [w.m], data: w.b_enc },
    b_dec: { dtype: t, shape: [w.d], data: w.b_dec },
    ...(w.activation?.kind === 'jumprelu' ? { threshold: { dtype: t, shape: [w.m], data: w.activation.threshold } } : {}),
  };
}

/** Write cfg.json, sae_weights.safetensors and (if known) sparsity.safetensors into an existing folder. */
export function writeSaelensDir(dir: string, w: SaeWeights, meta: DictionaryMeta): string[] {
  const files = [path.join(dir, SAELENS_FILES.weights), path.join(dir, SAELENS_FILES.cfg)];
  writeSafetensorsFile(files[0]!, weightTensors(w, meta.dtype), { format: 'pt' });
  if (meta.log10Density) {
    if (meta.log10Density.length !== w.m) {
      throw new RunError(`log10 density has ${meta.log10Density.length} values for ${w.m} features.`);
    }
    const f = path.join(dir, SAELENS_FILES.sparsity);
    const density = meta.log10Density instanceof Float32Array ? meta.log10Density : Float32Array.from(meta.log10Density);
    // float32 even with dtype float16, as SAELens writes it (log10 densities near -10 lose digits in F16).
    writeSafetensorsFile(f, { sparsity: { dtype: 'F32', shape: [w.m], data: density } }, { format: 'pt' });
    files.push(f);
  } else {
    // A density file left from an earlier write would describe other weights.
    fs.rmSync(path.join(dir, SAELENS_FILES.sparsity), { force: true });
  }
  // cfg.json last: its presence marks a complete dictionary.
  writeJsonAtomic(files[1]!, buildSaelensCfg(w.d, w.m, meta, w.activation));
  return files;
}

export interface SaelensDictionary {
  weights: SaeWeights;
  cfg: SaelensCfg;
  /** sparsity.safetensors' 'sparsity', or null when absent. */
  log10Density: Float32Array | null;
}

/** Read a SAELens folder written by writeSaelensDir (or SAELens itself, standard architecture). */
export function readSaelensDir(dir: string): SaelensDictionary {
  const cfgFile = path.join(dir, SAELENS_FILES.cfg);
  let cfg: SaelensCfg;
  try {
    cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as SaelensCfg;
  } catch (err) {
    if (err instanceof SyntaxError) throw new RunError(`${cfgFile}: not valid JSON (${err.message}).`, 'Re-export the dictionary.');
    throw fsError(err, cfgFile, 'read');
  }
  const d = cfg.d_in;
  const m = cfg.d_sae;
  if (!Number.isSafeInteger(d) || d <= 0 || !Number.isSafeInteger(m) || m <= 0) {
    throw new RunError(`${cfgFile}: d_in/d_sae must be positive integers, found ${JSON.stringify(d)}/${JSON.stringify(m)}.`, 'Re-export the dictionary.');
  }
  const arch = cfg.architecture ?? 'standard';
  if (arch !== 'standard' && arch !== 'topk' && arch !== 'jumprelu') {
    throw new RunError(`${cfgFile}: architecture '${String(cfg.architecture)}' is not supported, expected 'standard', 'topk' or 'jumprelu'.`);
  }
  const weightsFile = path.join(dir, SAELENS_FILES.weights);
  const content = readSafetensorsFile(weightsFile);
  let activation: Activation | null = null;
  if (arch === 'topk') {
    const k = cfg['k'] ?? (cfg['activation_fn_kwargs'] as { k?: unknown } | undefined)?.k;
    if (typeof k !== 'number' || !Number.isSafeInteger(k) || k <= 0) {
      throw new RunError(`${cfgFile}: architecture 'topk' needs a positive integer k, found ${JSON.stringify(k)}.`, 'Re-export the dictionary.');
    }
    activation = { kind: 'topk', k };
  } else if (arch === 'jumprelu') {
    activation = { kind: 'jumprelu', threshold: requireFloatTensor(content, 'threshold', [m], weightsFile) };
  }
  const weights: SaeWeights = {
    d,
    m,
    W_enc: requireFloatTensor(content, 'W_enc', [d, m], weightsFile),
    b_enc: requireFloatTensor(content, 'b_enc', [m], weightsFile),
    W_dec: requireFloatTensor(content, 'W_dec', [m, d], weightsFile),
    b_dec: requireFloatTensor(content, 'b_dec', [d], weightsFile),
    ...(activation ? { activation } : {}),
  };
  const sparsityFile = path.join(dir, SAELENS_FILES.sparsity);
  const log10Density = fs.existsSync(sparsityFile)
    ? requireFloatTensor(readSafetensorsFile(sparsityFile), 'sparsity', [m], sparsityFile)
    : null;
  return { weights, cfg, log10Density };
}
