import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildSaelensCfg, hookNameFrom, readSaelensDir, writeSaelensDir } from '../../src/io/saelens.js';
import { rmTmp, tmpDir } from '../helpers/cli.js';
import { parseSafetensors } from '../helpers/load-export.js';
import { maxAbsDiff, randomWeights } from '../helpers/tensors.js';

/** Keys SAELens v3-v5's SAEConfig requires (a missing one fails its dataclass constructor). */
const PRE_V6_REQUIRED = [
  'architecture', 'd_in', 'd_sae', 'activation_fn_str', 'apply_b_dec_to_input', 'finetuning_scaling_factor',
  'context_size', 'model_name', 'hook_name', 'hook_layer', 'hook_head_index', 'prepend_bos', 'dataset_path',
  'dataset_trust_remote_code', 'normalize_activations', 'dtype', 'device', 'sae_lens_training_version',
];
/** v6 SAEConfig fields and metadata keys. */
const V6_KEYS = ['architecture', 'd_in', 'd_sae', 'dtype', 'device', 'apply_b_dec_to_input', 'normalize_activations', 'reshape_activations', 'metadata'];

describe('SAELens layout', () => {
  const root = tmpDir();
  afterAll(() => rmTmp(root));

  it('derives TransformerLens hook names from data metadata', () => {
    expect(hookNameFrom({ hook: 'resid_post', layer: '2' })).toBe('blocks.2.hook_resid_post');
    expect(hookNameFrom({ hook: 'hook_mlp_out', layer: '0' })).toBe('blocks.0.hook_mlp_out');
    expect(hookNameFrom({ hook: 'blocks.5.hook_resid_pre', layer: '9' })).toBe('blocks.5.hook_resid_pre');
    expect(hookNameFrom({ hook_name: 'custom', hook: 'x', layer: '1' })).toBe('custom');
    // Metadata without a hook does not say which activations these are: nothing is invented.
    expect(hookNameFrom({ model: 'gpt2', layer: '3' })).toBe('unknown');
    expect(hookNameFrom({ hook: 'embed' })).toBe('hook_embed');
  });

  it('emits both the v6 and the pre-v6 keys, with values from the data metadata', () => {
    const cfg = buildSaelensCfg(64, 512, {
      dataMetadata: { model: 'stories260k', layer: '2', hook: 'resid_post', context_size: '256', dataset: 'tinystories' },
      extra: { recipe: 'towards-monosemanticity' },
    });
    for (const k of [...PRE_V6_REQUIRED, ...V6_KEYS]) expect(cfg, k).toHaveProperty(k);
    expect(cfg).toMatchObject({
      architecture: 'standard',
      d_in: 64,
      d_sae: 512,
      dtype: 'float32',
      device: 'cpu',
      apply_b_dec_to_input: true,
      normalize_activations: 'none',
      activation_fn_str: 'relu',
      activation_fn: 'relu',
      finetuning_scaling_factor: false,
      model_name: 'stories260k',
      hook_name: 'blocks.2.hook_resid_post',
      hook_layer: 2,
      hook_head_index: null,
      context_size: 256,
      dataset_path: 'tinystories',
      prepend_bos: true,
      metadata: { model_name: 'stories260k', hook_name: 'blocks.2.hook_resid_post', hook_layer: 2 },
      sae_tool: { recipe: 'towards-monosemanticity', data_metadata: { model: 'stories260k' } },
    });
    // Without sae_lens_version, SAELens v6 converts the flat keys itself (see saelens.ts).
    expect(cfg).not.toHaveProperty('sae_lens_version');
    expect(cfg['metadata']).not.toHaveProperty('sae_lens_version');
  });

  it('writes exactly the four weight tensors, the sparsity file, and reads them back (float16 too)', () => {
    const w = randomWeights(5, 10, 4);
    const density = Float32Array.from({ length: 10 }, (_, i) => -i / 3);
    const dir = path.join(root, 'f16');
    fs.mkdirSync(dir);
    writeSaelensDir(dir, w, { dataMetadata: { model: 'm' }, dtype: 'float16', log10Density: density });
    expect(fs.readdirSync(dir).sort()).toEqual(['cfg.json', 'sae_weights.safetensors', 'sparsity.safetensors']);
    const st = parseSafetensors(fs.readFileSync(path.join(dir, 'sae_weights.safetensors')));
    expect(Object.fromEntries(Object.entries(st.tensors).map(([k, t]) => [k, [t.dtype, t.shape]]))).toEqual({
      W_enc: ['F16', [5, 10]],
      W_dec: ['F16', [10, 5]],
      b_enc: ['F16', [10]],
      b_dec: ['F16', [5]],
    });
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'cfg.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg['dtype']).toBe('float16');
    const back = readSaelensDir(dir);
    expect(maxAbsDiff(back.weights.W_enc, w.W_enc)).toBeLessThan(1e-3 * 4);
    expect(maxAbsDiff(back.weights.W_dec, w.W_dec)).toBeLessThan(1e-3);
    expect(maxAbsDiff(back.log10Density!, density)).toBeLessThan(3e-3);

    // Rewriting without densities removes the stale sparsity file.
    writeSaelensDir(dir, w, { dataMetadata: {} });
    expect(fs.readdirSync(dir).sort()).toEqual(['cfg.json', 'sae_weights.safetensors']);
    expect(readSaelensDir(dir).log10Density).toBeNull();
  });
});
