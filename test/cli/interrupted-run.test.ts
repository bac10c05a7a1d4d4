import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_EVAL, FIXTURE_TRAIN, rmTmp, runCli, tmpDir, writeConfig } from '../helpers/cli.js';

const dir = tmpDir('sae-cli-interrupted-');
afterAll(() => rmTmp(dir));
const finished = path.join(dir, 'runs', 'small');
const cut = path.join(dir, 'runs', 'cut');

/**
 * A run stopped after its step-20 checkpoint looks like a finished 20-step run without the files
 * training writes at the end; built that way, the test needs no timing of a signal.
 */
beforeAll(async () => {
  const cfg = writeConfig(dir, {
    data: { train: FIXTURE_TRAIN, eval: FIXTURE_EVAL, shuffleBuffer: 2048 },
    sae: { expansion: 2, l1: 0.01 },
    train: { steps: 20, batchSize: 256, logEvery: 10, workers: 0 },
    resample: { enabled: false },
    output: { dir: path.join(dir, 'runs'), checkpointEverySteps: 10, topK: 3 },
  }, 'small.json');
  const r = await runCli(['train', '--config', cfg, '--backend', 'cpu']);
  expect(r.status, r.stderr).toBe(0);
  fs.cpSync(finished, cut, { recursive: true });
  for (const f of ['cfg.json', 'sae_weights.safetensors', 'sparsity.safetensors', 'features.arrow', 'features.json', 'eval.json']) fs.rmSync(path.join(cut, f));
  const info = JSON.parse(fs.readFileSync(path.join(cut, 'run.json'), 'utf8'));
  fs.writeFileSync(path.join(cut, 'run.json'), JSON.stringify({ ...info, status: 'interrupted', totalSteps: 40, reason: 'SIGINT' }));
}, 180_000);

describe('commands on an interrupted run use its newest checkpoint and say which step', () => {
  it('eval: the checkpoint gives the same metrics as the final dictionary of the same step', async () => {
    const a = await runCli(['eval', finished, '--data', FIXTURE_EVAL, '--backend', 'cpu', '--json']);
    const b = await runCli(['eval', cut, '--data', FIXTURE_EVAL, '--backend', 'cpu', '--json']);
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    expect(b.stderr).toContain(`note: ${cut} is interrupted at step 20 of 40: using its newest checkpoint, step 20`);
    const ra = JSON.parse(a.stdout);
    const rb = JSON.parse(b.stdout);
    expect(ra.source).toEqual({ step: 20, final: true, note: null });
    expect(rb.source).toMatchObject({ step: 20, final: false });
    expect(rb.metrics.explainedVariance).toBeCloseTo(ra.metrics.explainedVariance, 5);
    expect(rb.metrics.l0).toBeCloseTo(ra.metrics.l0, 4);
  });

  it('export-dictionary writes the checkpoint\'s dictionary and records its step', async () => {
    const out = path.join(dir, 'cut-st.safetensors');
    const r = await runCli(['export-dictionary', cut, '--format', 'safetensors', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('using its newest checkpoint, step 20');
    const buf = fs.readFileSync(out);
    const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8'));
    expect(header.__metadata__).toMatchObject({ source_step: '20', source_checkpoint: 'true' });
  });

  it('features points at stats, and stats works, then features does', async () => {
    const f = await runCli(['features', cut]);
    expect(f.status).toBe(1);
    expect(f.stderr).toMatch(/has no feature statistics \(features\.arrow\): the run is interrupted/);
    expect(f.stderr).toMatch(/hint: Compute them with `sae stats .* --data <arrow files>` \(it uses the newest checkpoint\)/);
    const s = await runCli(['stats', cut, '--data', FIXTURE_EVAL, '--backend', 'cpu']);
    expect(s.status, s.stderr).toBe(0);
    expect(s.stderr).toContain('using its newest checkpoint, step 20');
    const again = await runCli(['features', cut, '--limit', '3']);
    expect(again.status, again.stderr).toBe(0);
  });
});

describe('sae train --resume <run> --set train.steps=N', () => {
  it('extends a finished run; other --set keys and a length below the steps done are refused', async () => {
    const bad = await runCli(['train', '--resume', finished, '--set', 'sae.l1=3']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/with --resume only train\.steps=N/);
    const short = await runCli(['train', '--resume', finished, '--set', 'train.steps=10', '--backend', 'cpu']);
    expect(short.status).toBe(1);
    expect(short.stderr).toMatch(/train\.steps = 10 is below the 20 steps/);

    const r = await runCli(['train', '--resume', finished, '--set', 'train.steps=30', '--backend', 'cpu']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/extending .* to 30 steps/);
    expect(r.stderr).toMatch(/resuming .* from step 20 of 30/);
    const info = JSON.parse(fs.readFileSync(path.join(finished, 'run.json'), 'utf8'));
    expect(info).toMatchObject({ status: 'finished', step: 30, totalSteps: 30 });
    expect(JSON.parse(fs.readFileSync(path.join(finished, 'config.json'), 'utf8')).train.steps).toBe(30);
    const steps = fs.readFileSync(path.join(finished, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    expect(steps).toEqual([10, 20, 30]);
    // A plain resume of the extended run still accepts its checkpoints.
    const again = await runCli(['train', '--resume', finished, '--backend', 'cpu']);
    expect(again.status, again.stderr).toBe(0);
  });
});
