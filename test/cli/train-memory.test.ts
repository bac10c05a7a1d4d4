import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURE_TRAIN, rmTmp, runCli, tmpDir, writeConfig } from '../helpers/cli.js';

const dir = tmpDir('sae-cli-mem-');
afterAll(() => rmTmp(dir));

describe('sae train refuses a run that does not fit in memory, before allocating it', () => {
  const cfg = writeConfig(dir, { data: { train: FIXTURE_TRAIN }, train: { steps: 2, batchSize: 64 }, output: { dir: path.join(dir, 'runs') } }, 'm.json');

  it('a width of 100,000,000: exit 1 with the estimate and what to lower; no run directory, no LOCK', async () => {
    const r = await runCli(['train', '--config', cfg, '--set', 'sae.width=100000000', '--backend', 'cpu'], { timeoutMs: 60_000 });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/this run needs about [\d.]+ [GT]iB of memory \(.*weights and Adam moments [\d.]+ GiB/);
    expect(r.stderr).toMatch(/hint: The largest part is .*: lower .*sae\.width/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(dir, 'runs', 'm'))).toBe(false);
  });

  it('--max-memory sets the budget; a bad size is explained', async () => {
    const r = await runCli(['train', '--config', cfg, '--max-memory', '200M', '--backend', 'cpu']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/more than the 200 MiB available \(--max-memory\)/);
    const bad = await runCli(['train', '--config', cfg, '--max-memory', 'lots']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--max-memory: expected a size such as 8G/);
  });
});
