import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURE_TRAIN, rmTmp, runCli, tmpDir, writeConfig } from '../helpers/cli.js';

const dir = tmpDir('sae-cli-defaults-');
afterAll(() => rmTmp(dir));

describe('a minimal config gets a sensible run', () => {
  it('steps from the token budget, l1 from the activation norm, written into config.json', async () => {
    // Only data.train, plus a smaller token budget and batch so the test stays short (the full
    // default, 500 steps of 4096, reaches explained variance 0.75 at L0 48 on this data).
    const cfg = writeConfig(dir, { data: { train: FIXTURE_TRAIN }, train: { batchSize: 256, minTokens: 12800 }, output: { dir: path.join(dir, 'runs') } }, 'min.json');
    const r = await runCli(['train', '--config', cfg, '--backend', 'cpu', '--set', 'train.workers=0'], { timeoutMs: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/; 50 steps of 256/);
    expect(r.stderr).toMatch(/sae\.l1: 1\.03 \(auto: 0\.15 x the mean activation norm 6\.8\d\d/);
    const written = JSON.parse(fs.readFileSync(path.join(dir, 'runs', 'min', 'config.json'), 'utf8'));
    expect(written.sae.l1).toBe(1.03);
  }, 300_000);

  it('warns at the end when the result is degenerate', async () => {
    const cfg = writeConfig(dir, { data: { train: FIXTURE_TRAIN }, sae: { l1: 0 }, train: { steps: 10, batchSize: 256 }, resample: { enabled: false }, output: { dir: path.join(dir, 'runs') } }, 'dense.json');
    const r = await runCli(['train', '--config', cfg, '--backend', 'cpu', '--set', 'train.workers=0']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: L0 [\d.]+ is above the input width d = 64: the code is not sparse; raise sae\.l1/);
  });
});
