import * as tf from '../../src/backend/tfjs.js';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { ConfigError } from '../../src/errors.js';
import { selectFeatures, unitNormDecoder } from '../../src/io/dictionary-select.js';
import { readSaelensDir, writeSaelensDir } from '../../src/io/saelens.js';
import type { Activation } from '../../src/sae/activation.js';
import { forward } from '../../src/sae/forward.js';
import { SaeParams, type SaeWeights } from '../../src/sae/params.js';
import { rmTmp, tmpDir } from '../helpers/cli.js';
import { parseSafetensors } from '../helpers/load-export.js';
import { maxAbs, maxAbsDiff, randomData, randomWeights } from '../helpers/tensors.js';

const d = 8;
const m = 24;
const root = tmpDir('sae-sl-arch-');
afterAll(() => rmTmp(root));
beforeAll(async () => {
  await initBackend('cpu');
});

function xHat(w: SaeWeights, x: Float32Array, rows: number): Float32Array {
  const p = new SaeParams(w);
  const xt = tf.tensor2d(x, [rows, d]);
  const { f, xHat: xh } = forward(p, xt);
  const out = xh.dataSync() as Float32Array;
  for (const t of [f, xh, xt]) t.dispose();
  p.dispose();
  return out;
}

describe('SAELens layout per architecture', () => {
  const threshold = Float32Array.from({ length: m }, (_, i) => 0.1 * (i % 3));
  const cases: { name: string; activation: Activation; cfg: Record<string, unknown>; tensors: string[] }[] = [
    { name: 'topk', activation: { kind: 'topk', k: 4 }, cfg: { architecture: 'topk', k: 4, activation_fn: 'topk', activation_fn_str: 'topk', activation_fn_kwargs: { k: 4 } }, tensors: ['W_enc', 'W_dec', 'b_enc', 'b_dec'] },
    { name: 'jumprelu', activation: { kind: 'jumprelu', threshold }, cfg: { architecture: 'jumprelu', activation_fn: 'relu', activation_fn_kwargs: {} }, tensors: ['W_enc', 'W_dec', 'b_enc', 'b_dec', 'threshold'] },
  ];
  for (const c of cases) {
    it(`${c.name}: pins cfg.json's fields and the tensors' names and shapes, and reads back the activation`, () => {
      const w = { ...randomWeights(d, m, 2), activation: c.activation };
      const dir = path.join(root, c.name);
      fs.mkdirSync(dir);
      writeSaelensDir(dir, w, { dataMetadata: { model: 'stories260k', layer: '2', hook: 'resid_post' }, dtype: 'float16', log10Density: new Float32Array(m).fill(-2) });
      const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'cfg.json'), 'utf8')) as Record<string, unknown>;
      expect(cfg).toMatchObject({ ...c.cfg, d_in: d, d_sae: m, dtype: 'float16', apply_b_dec_to_input: true, hook_name: 'blocks.2.hook_resid_post' });
      const st = parseSafetensors(fs.readFileSync(path.join(dir, 'sae_weights.safetensors')));
      expect(Object.keys(st.tensors)).toEqual(c.tensors);
      if (c.name === 'jumprelu') expect(st.tensors['threshold']).toMatchObject({ dtype: 'F16', shape: [m] });
      expect(parseSafetensors(fs.readFileSync(path.join(dir, 'sparsity.safetensors'))).tensors['sparsity']).toMatchObject({ dtype: 'F32', shape: [m] });
      const back = readSaelensDir(dir).weights.activation!;
      expect(back.kind).toBe(c.activation.kind);
      if (back.kind === 'topk') expect(back.k).toBe(4);
      if (back.kind === 'jumprelu') expect(maxAbsDiff(back.threshold, threshold)).toBeLessThan(1e-3);
    });
  }

  it('refuses an architecture it cannot encode with, naming it', () => {
    const dir = path.join(root, 'gated');
    fs.mkdirSync(dir);
    writeSaelensDir(dir, randomWeights(d, m, 2), { dataMetadata: {} });
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'cfg.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(dir, 'cfg.json'), JSON.stringify({ ...cfg, architecture: 'gated' }));
    expect(() => readSaelensDir(dir)).toThrow(/architecture 'gated' is not supported, expected 'standard', 'topk' or 'jumprelu'/);
  });
});

describe('--unit-decoder and --features with an activation', () => {
  const x = randomData(9, d, 3);
  it('JumpReLU: the thresholds scale with the encoder, reconstructions unchanged; a subset keeps its thresholds', () => {
    const w: SaeWeights = { ...randomWeights(d, m, 5), activation: { kind: 'jumprelu', threshold: Float32Array.from({ length: m }, (_, i) => 0.05 * (i % 4)) } };
    for (let i = 0; i < m * d; i++) w.W_dec[i]! *= 1 + (Math.floor(i / d) % 3);
    const u = unitNormDecoder(w);
    const ref = xHat(w, x, 9);
    expect(maxAbsDiff(xHat(u, x, 9), ref)).toBeLessThan(1e-5 * Math.max(1, maxAbs(ref)));
    const sub = selectFeatures(w, Int32Array.from([1, 5, 6]));
    expect(sub.activation).toEqual({ kind: 'jumprelu', threshold: Float32Array.from([0.05, 0.05, 0.1]) });
  });
  it('TopK: refused when the decoder rows are not unit norm (rescaling would change the selection)', () => {
    const w: SaeWeights = { ...randomWeights(d, m, 5), activation: { kind: 'topk', k: 3 } };
    for (let i = 0; i < m * d; i++) w.W_dec[i]! *= 2;
    expect(() => unitNormDecoder(w)).toThrow(ConfigError);
  });
});
