import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmTmp, runCli, tmpDir } from '../helpers/cli.js';
import { loadExport } from '../helpers/load-export.js';
import { randomWeights } from '../helpers/tensors.js';
import { makeFakeRun } from '../io/fake-run.js';

describe('sae export-dictionary', () => {
  const root = tmpDir();
  const w = randomWeights(4, 12, 21);
  let run = '';
  let unfinished = '';

  beforeAll(async () => {
    run = makeFakeRun(path.join(root, 'run'), w);
    unfinished = makeFakeRun(path.join(root, 'unfinished'), w, { final: false, info: { status: 'running' } });
  });
  afterAll(async () => rmTmp(root));

  it('exports a SAELens folder and reports it as JSON', async () => {
    const out = path.join(root, 'out', 'sl');
    const r = await runCli(['export-dictionary', run, '--format', 'saelens', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const res = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(res).toMatchObject({ format: 'saelens', out, dIn: 4, dSae: 12, files: ['cfg.json', 'sae_weights.safetensors', 'sparsity.safetensors'] });
    expect(loadExport(out, 'saelens')).toEqual(w);
  });

  it('prints a one-line summary and honours --features, --dtype and --unit-decoder', async () => {
    const out = path.join(root, 'sub.safetensors');
    const r = await runCli(['export-dictionary', run, '-f', 'safetensors', '-o', out, '--features', '0-2,7', '--dtype', 'float16', '--unit-decoder']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^exported 4 of 12 features \(d_in 4, float16, unit-norm decoder\) as safetensors to .*sub\.safetensors \(1 file, \d+ bytes\)\n$/);
    expect(loadExport(out, 'safetensors').m).toBe(4);
  });

  const cases: { name: string; args: () => string[]; error: RegExp; hint: RegExp }[] = [
    {
      name: 'a missing run',
      args: () => ['export-dictionary', path.join(root, 'nope'), '--format', 'npy', '--out', path.join(root, 'o1')],
      error: /^error: .*nope does not exist\.$/m,
      hint: /^hint: .*sae train/m,
    },
    {
      name: 'a folder that is not a run',
      args: () => ['export-dictionary', root + '/out', '--format', 'npy', '--out', path.join(root, 'o2')],
      error: /is not a run directory \(no run\.json\)\./,
      hint: /Run directories are made by `sae train`/,
    },
    {
      name: 'an unknown format',
      args: () => ['export-dictionary', run, '--format', 'onnx', '--out', path.join(root, 'o3')],
      error: /^error: Unknown export format 'onnx'\.$/m,
      hint: /^hint: Use one of: saelens, safetensors, npy, arrow, json, sparsify\.$/m,
    },
    {
      name: 'an output that is the run itself',
      args: () => ['export-dictionary', run, '--format', 'saelens', '--out', run, '--force'],
      error: /would destroy the run/,
      hint: /outside the run/,
    },
    {
      name: 'an existing output file',
      args: () => {
        const out = path.join(root, 'taken.json');
        fs.writeFileSync(out, '{}');
        return ['export-dictionary', run, '--format', 'json', '--out', out];
      },
      error: /^error: .*taken\.json already exists\.$/m,
      hint: /^hint: Use --force to overwrite it, or choose another --out\.$/m,
    },
    {
      name: 'a run without a final dictionary',
      args: () => ['export-dictionary', unfinished, '--format', 'npy', '--out', path.join(root, 'o4')],
      error: /has no final dictionary .*the run is still training/,
      hint: /sae train --resume .*unfinished/,
    },
    {
      name: 'a bad --dtype',
      args: () => ['export-dictionary', run, '--format', 'npy', '--out', path.join(root, 'o5'), '--dtype', 'float64'],
      error: /^error: --dtype: /m,
      hint: /.*/,
    },
  ];
  for (const c of cases) {
    it(`explains ${c.name} and exits 1`, async () => {
      const r = await runCli(c.args());
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(c.error);
      expect(r.stderr).toMatch(c.hint);
      expect(r.stderr).not.toMatch(/this is a bug|\n\s+at /);
      expect(r.status).toBe(1);
    });
  }

  it('leaves the existing output untouched when it refuses', async () => {
    expect(fs.readFileSync(path.join(root, 'taken.json'), 'utf8')).toBe('{}');
    expect(fs.readdirSync(root).filter((n) => n.includes('.partial-'))).toEqual([]);
  });
});
