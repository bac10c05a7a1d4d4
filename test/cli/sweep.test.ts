import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmTmp, runCli, tmpDir, writeConfig } from '../helpers/cli.js';

const runCliAsync = (args: string[]) => runCli(args, { timeoutMs: 300_000 });

const dir = tmpDir('sae-cli-sweep-');
const data = path.join(dir, 'synth');
const sweepDir = path.join(dir, 'sweep');
let cfg: string;

beforeAll(async () => {
  const s = await runCliAsync(['synth', '--out', data, '--rows', '6000', '--eval-rows', '1000', '--features', '24', '--dim', '12', '--active', '2', '--seed', '2']);
  expect(s.status, s.stderr).toBe(0);
  cfg = writeConfig(dir, {
    data: { train: path.join(data, 'activations.arrow'), eval: path.join(data, 'eval.arrow'), shuffleBuffer: 6000 },
    sae: { width: 48, l1: 0.1, bDecInit: 'mean' },
    train: { steps: 120, batchSize: 128, lr: 0.003, logEvery: 60 },
    resample: { enabled: false },
    output: { dir: path.join(dir, 'runs'), checkpointEverySteps: 60, checkpointEveryMinutes: 0, topK: 3 },
  }, 'base.json');
}, 120_000);
afterAll(() => rmTmp(dir));

const args = () => ['sweep', '--config', cfg, '--grid', 'sae.l1=0.02,0.3', '--out', sweepDir, '--jobs', '2', '--ground-truth', path.join(data, 'ground-truth.safetensors')];

describe('sae sweep', () => {
  it('trains every grid point in parallel and writes the table as CSV and JSON', async () => {
    const r = await runCliAsync(args());
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/starting l1-0\.02/);
    expect(r.stderr).toMatch(/starting l1-0\.3/);
    expect(r.stdout).toMatch(/^run\s+l1\s+width\s+L0\s+explained_var\s+dead_frac\s+mse\s+mmcs$/m);
    const json = JSON.parse(fs.readFileSync(path.join(sweepDir, 'sweep.json'), 'utf8'));
    expect(json.rows.map((x: { run: string }) => x.run)).toEqual(['l1-0.02', 'l1-0.3']);
    const [lo, hi] = json.rows;
    expect(lo).toMatchObject({ status: 'finished', l1: 0.02, width: 48, expansion: 4 });
    expect(hi.l1).toBe(0.3);
    // The L1 coefficient trades reconstruction for sparsity.
    expect(hi.l0).toBeLessThan(lo.l0);
    expect(hi.explainedVariance).toBeLessThan(lo.explainedVariance);
    for (const row of json.rows) expect(row.mmcs).toBeGreaterThan(0.3);
    const csv = fs.readFileSync(path.join(sweepDir, 'sweep.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('run,status,sae.l1,l1,width,L0,explained_var,dead_frac,mse,mmcs');
    expect(csv).toHaveLength(3);
    expect(fs.existsSync(path.join(sweepDir, 'logs', 'l1-0.3.log'))).toBe(true);
  });

  it('resumes: finished runs are skipped, an interrupted one continues from its checkpoint', async () => {
    const run = path.join(sweepDir, 'l1-0.3');
    const info = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8'));
    fs.writeFileSync(path.join(run, 'run.json'), JSON.stringify({ ...info, status: 'interrupted' }));
    fs.rmSync(path.join(run, 'eval.json'));
    const r = await runCliAsync(args());
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/1 of 2 runs already finished/);
    expect(r.stderr).toMatch(/resuming l1-0\.3/);
    expect(r.stderr).not.toMatch(/starting l1-0\.02/);
    const json = JSON.parse(fs.readFileSync(path.join(sweepDir, 'sweep.json'), 'utf8'));
    expect(json.rows.map((x: { status: string }) => x.status)).toEqual(['finished', 'finished']);
  });

  it('a re-run with another grid keeps the earlier runs in sweep.csv and sweep.json', async () => {
    const r = await runCliAsync(['sweep', '--config', cfg, '--grid', 'sae.width=24', '--out', sweepDir]);
    expect(r.status, r.stderr).toBe(0);
    const csv = fs.readFileSync(path.join(sweepDir, 'sweep.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('run,status,sae.width,sae.l1,l1,width,L0,explained_var,dead_frac,mse,mmcs');
    expect(csv.map((l) => l.split(',')[0])).toEqual(['run', 'width-24', 'l1-0.02', 'l1-0.3']);
    expect(csv[2]).toMatch(/^l1-0\.02,finished,,0\.02,/);
    expect(r.stdout).toMatch(/^l1-0\.3 /m);
  });

  it('--grid-file: each architecture with its own knob (relu: sae.l1; topk: sae.k with sae.l1 unset)', async () => {
    const file = path.join(dir, 'architectures.json');
    fs.writeFileSync(file, JSON.stringify({
      groups: [
        { grid: { 'sae.architecture': ['relu'], 'sae.l1': [0.1] } },
        { set: { 'sae.l1': null }, grid: { 'sae.architecture': ['topk', 'batchtopk'], 'sae.k': [2] } },
      ],
    }));
    const out = path.join(dir, 'arch-sweep');
    const r = await runCliAsync(['sweep', '--config', cfg, '--grid-file', file, '--set', 'train.steps=20', '--out', out, '--jobs', '2']);
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(fs.readFileSync(path.join(out, 'sweep.json'), 'utf8'));
    expect(json.keys).toEqual(['sae.architecture', 'sae.l1', 'sae.k']);
    expect(json.rows.map((x: { run: string; status: string }) => `${x.run} ${x.status}`)).toEqual([
      'architecture-relu_l1-0.1 finished', 'architecture-topk_k-2 finished', 'architecture-batchtopk_k-2 finished',
    ]);
    // Each run trained its own architecture; topk keeps k = 2 per row.
    const read = (name: string, file: string) => JSON.parse(fs.readFileSync(path.join(out, name, file), 'utf8'));
    expect(read('architecture-topk_k-2', 'run.json').architecture).toMatchObject({ name: 'topk', k: 2 });
    expect(read('architecture-relu_l1-0.1', 'config.json').sae).toMatchObject({ architecture: 'relu', l1: 0.1 });
    expect(json.rows[1].l0).toBeCloseTo(2, 5);
    const csv = fs.readFileSync(path.join(out, 'sweep.csv'), 'utf8').split('\n');
    expect(csv[0]).toMatch(/^run,status,sae\.architecture,sae\.l1,sae\.k,/);
    expect(csv[2]).toMatch(/^architecture-topk_k-2,finished,topk,,2,/);
  });

  it('--grid-file: a malformed file or a point the config refuses fails before training, naming it', async () => {
    const bad = path.join(dir, 'bad-grid.json');
    fs.writeFileSync(bad, JSON.stringify({ groups: [{ grid: { 'sae.k': 'eight' } }] }));
    let r = await runCliAsync(['sweep', '--config', cfg, '--grid-file', bad, '--out', path.join(dir, 'bad-file')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--grid-file .*bad-grid\.json: groups\.0\.grid\.sae\.k: /);
    // sae.k with relu (the base config's architecture, sae.l1 set): a config error for that point.
    fs.writeFileSync(bad, JSON.stringify({ groups: [{ grid: { 'sae.k': [4] } }] }));
    r = await runCliAsync(['sweep', '--config', cfg, '--grid-file', bad, '--out', path.join(dir, 'bad-point')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/sae\.k/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(dir, 'bad-point'))).toBe(false);
  });

  it('rejects a grid key the config does not have before training anything', async () => {
    const r = await runCliAsync(['sweep', '--config', cfg, '--grid', 'sae.l2=1,2', '--out', path.join(dir, 'bad')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/sae\.l2: unknown key/);
    expect(fs.existsSync(path.join(dir, 'bad'))).toBe(false);
  });
});
