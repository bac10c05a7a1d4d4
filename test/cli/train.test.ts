import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURE_EVAL, FIXTURE_TRAIN, rmTmp, runCli, tmpDir, writeConfig } from '../helpers/cli.js';

const dir = tmpDir('sae-cli-train-');
afterAll(async () => rmTmp(dir));

function smallConfig(extra: Record<string, unknown> = {}) {
  return {
    data: { train: FIXTURE_TRAIN, eval: FIXTURE_EVAL, shuffleBuffer: 4096 },
    sae: { expansion: 2, l1: 0.01 },
    train: { steps: 40, batchSize: 256, logEvery: 10 },
    resample: { every: 20, deadWindow: 10, samples: 2048 },
    output: { dir: path.join(dir, 'runs'), topK: 5 },
    ...extra,
  };
}

describe('sae CLI', () => {
  it('--help lists the commands', async () => {
    const r = await runCli(['--help']);
    expect(r.status).toBe(0);
    for (const c of ['train', 'inspect', 'resample-report', 'export-dictionary']) expect(r.stdout).toContain(c);
  });

  it('train writes a complete run directory and prints progress and a summary', async () => {
    const cfg = writeConfig(dir, smallConfig(), 'small.json');
    const r = await runCli(['train', '--config', cfg, '--backend', 'cpu']);
    expect(r.stderr).toMatch(/^backend: cpu$/m);
    expect(r.stderr).toMatch(/^resampling: 1 event\(s\) at step 20, dead window 10 steps, scoring 2048 rows per event$/m);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/step 40\/40 .*tok\/s .*loss .*mse .*ev .*L0 .*dead .*eta/);
    expect(r.stderr).toMatch(/held-out \(2048 rows\): explained variance/);
    const run = path.join(dir, 'runs', 'small');
    for (const f of ['config.json', 'run.json', 'metrics.jsonl', 'cfg.json', 'sae_weights.safetensors', 'sparsity.safetensors', 'features.arrow', 'features.json', 'eval.json']) {
      expect(fs.existsSync(path.join(run, f)), f).toBe(true);
    }
    const info = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8'));
    expect(info).toMatchObject({ status: 'finished', step: 40, d: 64, m: 128, backend: 'cpu' });
    expect(info.dataMetadata.model).toBeTruthy();
    const lines = fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.step)).toEqual([10, 20, 30, 40]);
    for (const k of ['tokens', 'lr', 'l1Coefficient', 'loss', 'mse', 'explainedVariance', 'l0', 'deadFraction']) expect(typeof lines[0][k], k).toBe('number');
    // No temporary files are left behind.
    expect(fs.readdirSync(run).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(fs.existsSync(path.join(run, 'LOCK'))).toBe(false);

    // A second run into the same directory is refused without --force, accepted with it.
    const again = await runCli(['train', '--config', cfg, '--backend', 'cpu']);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already holds a run/);
    expect(again.stderr).not.toMatch(/\n\s+at /);
  });

  it('says the backend in one short line; --verbose says why others did not load; the default resample.samples fits small data silently', async () => {
    const cfg = writeConfig(dir, { ...smallConfig(), train: { steps: 4, batchSize: 256 }, resample: { every: 2, deadWindow: 1 } }, 'short.json');
    const r = await runCli(['train', '--config', cfg, '--out', path.join(dir, 'short')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^backend: (wasm|tensorflow|cpu)$/m);
    expect(r.stderr).not.toMatch(/unavailable|resample\.samples/);
    expect(r.stderr).toMatch(/scoring 8192 rows per event/);
    const v = await runCli(['train', '--config', cfg, '--out', path.join(dir, 'short-v'), '--verbose']);
    expect(v.status, v.stderr).toBe(0);
    // tfjs-node is optional: where it installed there is nothing to explain.
    expect(v.stderr).toMatch(/^backend: (tensorflow|wasm \(unavailable: (webgpu: .+; )?tensorflow: .+\))$/m);
  });

  it('explains a bad config in one paragraph without a stack trace', async () => {
    const cfg = writeConfig(dir, { ...smallConfig(), train: { lr: -1, stepz: 3 } }, 'bad.json');
    const r = await runCli(['train', '--config', cfg]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/train\.lr: .*got -1/);
    expect(r.stderr).toMatch(/train\.stepz: unknown key/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const missing = await runCli(['train', '--config', path.join(dir, 'nope.json')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/nope\.json: cannot read the config file/);
  });

  it('explains bad data: a missing column lists the columns that exist', async () => {
    const cfg = writeConfig(dir, { ...smallConfig(), data: { train: FIXTURE_TRAIN, column: 'resid' } }, 'badcol.json');
    const r = await runCli(['train', '--config', cfg]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/resid/);
    expect(r.stderr).toMatch(/activation/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--set overrides are validated like the file', async () => {
    const cfg = writeConfig(dir, smallConfig(), 'set.json');
    const r = await runCli(['train', '--config', cfg, '--set', 'sae.expansion=-2']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/sae\.expansion: .*got -2/);
  });
});
