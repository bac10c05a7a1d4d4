import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURE_EVAL, rmTmp, runCli, tmpDir } from '../helpers/cli.js';
import { randomWeights } from '../helpers/tensors.js';
import { makeFakeRun } from '../io/fake-run.js';
import { STORIES_260K } from '../model/model-files.js';

const dir = tmpDir('sae-eval-threads-');
afterAll(() => rmTmp(dir));

describe('sae eval --model --threads', () => {
  it('gives the same downstream numbers on 1 and 2 threads, and refuses a bad count', async () => {
    const run = makeFakeRun(path.join(dir, 'random'), randomWeights(64, 256));
    const reports: Record<string, Record<string, unknown>> = {};
    for (const threads of ['1', '2']) {
      const r = await runCli(['eval', run, '--model', STORIES_260K, '--data', FIXTURE_EVAL, '--context', '96', '--max-tokens', '600', '--json', '--threads', threads]);
      expect(r.status).toBe(0);
      const { seconds: _, ...numbers } = JSON.parse(r.stdout) as Record<string, unknown>;
      reports[threads] = numbers;
    }
    expect(reports['1']!['tokens']).toBeGreaterThan(500);
    expect(reports['2']).toEqual(reports['1']);
    const bad = await runCli(['eval', run, '--model', STORIES_260K, '--data', FIXTURE_EVAL, '--threads', '0']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`--threads: expected 'auto' or a whole number of threads from 1 to 64 (got "0")`);
  });
});
