import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmTmp, runCli, tmpDir, writeConfig, type CliResult } from '../helpers/cli.js';

const runCliAsync = (args: string[]) => runCli(args, { timeoutMs: 300_000 });

// Small-scale version of the synthetic benchmark: 64 true features in 32 dimensions, about 3
// active per row, a 2x dictionary. Must recover the dictionary (MMCS > 0.98) in well under a minute.
const dir = tmpDir('sae-cli-eval-');
const data = path.join(dir, 'synth');
const run = path.join(dir, 'runs', 'recover');
let train: CliResult;

beforeAll(async () => {
  const s = await runCliAsync(['synth', '--out', data, '--rows', '30000', '--eval-rows', '4000', '--features', '64', '--dim', '32', '--active', '3', '--seed', '1']);
  expect(s.status, s.stderr).toBe(0);
  const cfg = writeConfig(dir, {
    data: { train: path.join(data, 'activations.arrow'), eval: path.join(data, 'eval.arrow'), shuffleBuffer: 30000 },
    sae: { width: 128, l1: 0.2, bDecInit: 'mean' },
    train: { steps: 1200, batchSize: 256, lr: 0.003, logEvery: 400 },
    resample: { every: 300, until: 0.6, samples: 8192 },
    output: { dir: path.join(dir, 'runs'), name: 'recover', checkpointEverySteps: 0, checkpointEveryMinutes: 0, topK: 5 },
  });
  train = await runCliAsync(['train', '--config', cfg]);
}, 400_000);
afterAll(() => rmTmp(dir));

describe('sae eval', () => {
  it('recovers the synthetic dictionary end to end (synth -> train -> eval)', async () => {
    expect(train.status, train.stderr).toBe(0);
    const r = await runCliAsync(['eval', run, '--data', path.join(data, 'eval.arrow'), '--ground-truth', path.join(data, 'ground-truth.safetensors'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    const m = rep.metrics;
    expect(m.rows).toBe(4000);
    expect(m.groundTruth.features).toBe(64);
    expect(m.groundTruth.mmcs).toBeGreaterThan(0.98);
    expect(m.groundTruth.matchedMeanAbsCosine).toBeGreaterThan(0.98);
    expect(m.groundTruth.recovered090).toBeGreaterThanOrEqual(62);
    expect(m.l0).toBeGreaterThan(2);
    expect(m.l0).toBeLessThan(6);
    expect(m.explainedVariance).toBeGreaterThan(0.8);
    // The trainer's held-out evaluation uses the same definitions on the same rows.
    const ev = JSON.parse(fs.readFileSync(path.join(run, 'eval.json'), 'utf8'));
    expect(m.explainedVariance).toBeCloseTo(ev.explainedVariance, 5);
    expect(m.l0).toBeCloseTo(ev.l0, 5);
  });

  it('prints a readable report, and the Arrow ground truth gives the same scores', async () => {
    const r = await runCliAsync(['eval', run, '--data', path.join(data, 'eval.arrow'), '--ground-truth', path.join(data, 'ground-truth.arrow'), '--max-rows', '1000']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/on 1000 rows/);
    expect(r.stdout).toMatch(/explained variance 0\.\d{4}/);
    expect(r.stdout).toMatch(/ground truth \(64 features\): MMCS 0\.9\d{3}/);
    expect(r.stdout).toMatch(/log10 density: /);
  });

  it('explains mismatched inputs and missing token ids', async () => {
    const other = path.join(dir, 'other.arrow');
    expect((await runCliAsync(['synth', '--out', other, '--rows', '50', '--dim', '16', '--features', '20', '--active', '2'])).status).toBe(0);
    const width = await runCliAsync(['eval', run, '--data', other]);
    expect(width.status).toBe(1);
    expect(width.stderr).toMatch(/width 16, but the dictionary .* has width 32/);
    const gt = await runCliAsync(['eval', run, '--data', path.join(data, 'eval.arrow'), '--ground-truth', path.join(dir, 'other.ground-truth.safetensors')]);
    expect(gt.status).toBe(1);
    expect(gt.stderr).toMatch(/ground-truth directions have width 16/);
    const sel = await runCliAsync(['eval', run, '--data', path.join(data, 'eval.arrow'), '--selectivity', '--max-rows', '100']);
    expect(sel.status).toBe(1);
    expect(sel.stderr).toMatch(/no token id column 'token_id'/);
    expect(sel.stderr).toMatch(/hint: /);
    const noRun = await runCliAsync(['eval', path.join(dir, 'nope'), '--data', other]);
    expect(noRun.status).toBe(1);
    expect(noRun.stderr).toMatch(/does not exist/);
  });
});
