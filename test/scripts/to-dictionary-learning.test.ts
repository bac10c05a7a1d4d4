import * as tf from '../../src/backend/tfjs.js';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import type { Activation } from '../../src/sae/activation.js';
import { forward } from '../../src/sae/forward.js';
import { SaeParams } from '../../src/sae/params.js';
import { writeSaelensDir } from '../../src/io/saelens.js';
import { rmTmp, tmpDir } from '../helpers/cli.js';
import { maxAbs, maxAbsDiff, randomData, randomWeights } from '../helpers/tensors.js';

// scripts/to-dictionary-learning.py turns our SAELens-layout folder into dictionary_learning's
// ae.pt + config.json. Run with the first Python that has torch; the check below loads ae.pt
// back with torch and reconstructs with each dictionary_learning class's encode/decode formulas.

const SCRIPT = path.resolve('scripts/to-dictionary-learning.py');

/** `python3` on PATH, then Debian's /usr/bin/python3 (python3-torch), whichever imports torch. */
function pythonWithTorch(): string | null {
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
}

// dictionary_learning's forward passes (dictionary.py, trainers/top_k.py), on the converted state dict.
const CHECK = `
import json, sys, torch
cfg = json.load(open(sys.argv[1] + '/config.json'))['trainer']
s = torch.load(sys.argv[1] + '/ae.pt')
x = torch.tensor(json.load(open(sys.argv[2])), dtype=torch.float32)
c = cfg['dict_class']
if c == 'AutoEncoder':
    f = torch.relu((x - s['bias']) @ s['encoder.weight'].T + s['encoder.bias'])
    xh = f @ s['decoder.weight'].T + s['bias']
elif c == 'AutoEncoderTopK':
    post = torch.relu((x - s['b_dec']) @ s['encoder.weight'].T + s['encoder.bias'])
    v, i = post.topk(int(s['k']), sorted=False)
    f = torch.zeros_like(post).scatter_(-1, i, v)
    xh = f @ s['decoder.weight'].T + s['b_dec']
elif c == 'JumpReluAutoEncoder':
    pre = x @ s['W_enc'] + s['b_enc']
    f = torch.relu(pre * (pre > s['threshold']))
    f = f * s['W_dec'].norm(dim=1)
    xh = (f / s['W_dec'].norm(dim=1)) @ s['W_dec'] + s['b_dec']
print(json.dumps({'dict_class': c, 'keys': sorted(s.keys()), 'x_hat': xh.tolist(), 'activation_dim': cfg['activation_dim'], 'dict_size': cfg['dict_size'], 'k': cfg.get('k')}))
`;

const py = pythonWithTorch();
const d = 6;
const m = 20;
const rows = 7;

describe.skipIf(py === null)('scripts/to-dictionary-learning.py (a Python with torch)', () => {
  const root = tmpDir('sae-dl-');
  beforeAll(async () => {
    await initBackend('cpu');
  });
  afterAll(() => rmTmp(root));
  const x = randomData(rows, d, 5);
  fs.writeFileSync(path.join(root, 'x.json'), JSON.stringify(Array.from({ length: rows }, (_, r) => Array.from(x.subarray(r * d, (r + 1) * d)))));

  const cases: { arch: string; activation: Activation; dictClass: string; keys: string[] }[] = [
    { arch: 'standard', activation: { kind: 'relu' }, dictClass: 'AutoEncoder', keys: ['bias', 'decoder.weight', 'encoder.bias', 'encoder.weight'] },
    { arch: 'topk', activation: { kind: 'topk', k: 3 }, dictClass: 'AutoEncoderTopK', keys: ['b_dec', 'decoder.weight', 'encoder.bias', 'encoder.weight', 'k', 'threshold'] },
    { arch: 'jumprelu', activation: { kind: 'jumprelu', threshold: Float32Array.from({ length: m }, (_, i) => 0.4 * (i % 4)) }, dictClass: 'JumpReluAutoEncoder', keys: ['W_dec', 'W_enc', 'b_dec', 'b_enc', 'threshold'] },
  ];
  for (const c of cases) {
    it(`${c.arch} -> ${c.dictClass}: dictionary_learning's formulas reconstruct as we do`, () => {
      const w = { ...randomWeights(d, m, 4), activation: c.activation };
      for (let j = 0; j < d; j++) w.b_dec[j] = 0.1 * (j - 2);
      const src = path.join(root, c.arch);
      fs.mkdirSync(src);
      writeSaelensDir(src, w, { dataMetadata: { model: 'stories260k', layer: '2', hook: 'resid_post' } });
      const out = path.join(root, `${c.arch}-dl`);
      const conv = spawnSync(py!, [SCRIPT, src, out], { encoding: 'utf8' });
      expect(conv.stderr).toBe('');
      expect(conv.status).toBe(0);
      const check = spawnSync(py!, ['-c', CHECK, out, path.join(root, 'x.json')], { encoding: 'utf8' });
      expect(check.status, check.stderr).toBe(0);
      const got = JSON.parse(check.stdout) as { dict_class: string; keys: string[]; x_hat: number[][]; activation_dim: number; dict_size: number; k: number | null };
      expect(got).toMatchObject({ dict_class: c.dictClass, keys: c.keys, activation_dim: d, dict_size: m });
      if (c.activation.kind === 'topk') expect(got.k).toBe(3);
      const params = new SaeParams(w);
      const xt = tf.tensor2d(x, [rows, d]);
      const { f, xHat } = forward(params, xt);
      const ours = xHat.dataSync();
      expect(maxAbsDiff(got.x_hat.flat(), ours)).toBeLessThan(1e-5 * Math.max(1, maxAbs(ours)));
      // The activation matters: the rows do not all keep every positive feature.
      expect(f.dataSync().filter((v) => v > 0).length).toBeLessThan(c.activation.kind === 'relu' ? rows * m + 1 : rows * m / 2);
      for (const t of [f, xHat, xt]) t.dispose();
      params.dispose();
    });
  }

  it('says what is wrong with a folder that is not a dictionary', () => {
    const r = spawnSync(py!, [SCRIPT, root, path.join(root, 'none')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^to-dictionary-learning: .*cfg\.json is missing: give a run directory or a `sae export-dictionary --format saelens` folder\n$/);
  });
});

describe.runIf(py === null)('scripts/to-dictionary-learning.py', () => {
  it('is skipped: no Python with torch here (python3, /usr/bin/python3); .ci/run installs python3-torch', () => {
    console.warn('skipped scripts/to-dictionary-learning.py checks: no Python with torch (tried python3, /usr/bin/python3)');
  });
});
