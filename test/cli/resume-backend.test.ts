import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_EVAL, FIXTURE_TRAIN, rmTmp, runCli, tmpDir, writeConfig } from '../helpers/cli.js';

/**
 * `sae train --resume` continues on the backend recorded in run.json unless --backend says
 * otherwise (another backend would round differently and break bit-exactness). The run is
 * trained on cpu, which `auto` never picks here, so continuing on cpu shows the record was used.
 */
const dir = tmpDir('sae-cli-resume-backend-');
afterAll(() => rmTmp(dir));
const run = path.join(dir, 'runs', 'small');

beforeAll(async () => {
  const cfg = writeConfig(dir, {
    data: { train: FIXTURE_TRAIN, eval: FIXTURE_EVAL, shuffleBuffer: 2048 },
    sae: { expansion: 2, l1: 0.01 },
    train: { steps: 10, batchSize: 256, logEvery: 10, workers: 0 },
    resample: { enabled: false },
    output: { dir: path.join(dir, 'runs'), checkpointEverySteps: 10, topK: 3 },
  }, 'small.json');
  const r = await runCli(['train', '--config', cfg, '--backend', 'cpu']);
  expect(r.status, r.stderr).toBe(0);
}, 180_000);

describe('sae train --resume picks the backend the run was trained on', () => {
  it('continues on the recorded backend without --backend, and says so', async () => {
    const r = await runCli(['train', '--resume', run, '--set', 'train.steps=20']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/backend: cpu.*\(the backend this run was trained on\)/);
    expect(r.stderr).toMatch(/on cpu \(resumed from step 10\)/);
    expect(JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8')).backend).toBe('cpu');
  }, 180_000);

  it('a recorded backend that does not load here is one paragraph naming it and the way out', async () => {
    const info = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8'));
    fs.writeFileSync(path.join(run, 'run.json'), JSON.stringify({ ...info, backend: 'tensorflow' }));
    const r = await runCli(['train', '--resume', run, '--set', 'train.steps=30']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/This run was trained on the tensorflow backend, which does not load here/);
    expect(r.stderr).toMatch(/pass --backend auto/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // --backend overrides the record.
    const ok = await runCli(['train', '--resume', run, '--set', 'train.steps=30', '--backend', 'cpu']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).not.toMatch(/the backend this run was trained on/);
  }, 180_000);
});
