import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { train } from '../../src/train/trainer.js';
import { FIXTURE_EVAL, FIXTURE_TRAIN, rmTmp, tmpDir } from '../helpers/cli.js';

/*
 * A configuration that leaves many features dead without resampling: the real-model fixture, a
 * 16x dictionary, a large L1 coefficient and a learning rate high enough early on to knock
 * features out (it decays linearly over the run). The same run with resampling must end with a
 * clearly smaller dead fraction and no worse reconstruction. The README shows its report.
 * workers is pinned: float summation order, hence the result, depends on the worker count.
 */
const dir = tmpDir('sae-resample-e2e-');
afterAll(() => rmTmp(dir));

async function run(name: string, resample: boolean) {
  const config = validateConfig(
    {
      data: { train: FIXTURE_TRAIN, eval: FIXTURE_EVAL, shuffleBuffer: 8192 },
      sae: { expansion: 16, l1: 1 },
      train: { steps: 300, batchSize: 512, lr: 0.03, lrDecay: 'linear', lrDecayFraction: 0.9, lrMinFactor: 0.05, logEvery: 20, workers: 2 },
      resample: { enabled: resample, every: 40, until: 0.8, deadWindow: 20, samples: 4096 },
      output: { checkpointEverySteps: 0, checkpointEveryMinutes: 0, topK: 2 },
      runtime: { backend: 'wasm' },
    },
    dir,
  );
  return (await train({ config, configFile: null, outDir: path.join(dir, name) })).eval;
}

describe('dead-feature resampling, end to end', () => {
  it('ends with a clearly smaller dead fraction and no worse reconstruction', async () => {
    const off = await run('without', false);
    const on = await run('with', true);
    expect(off.deadFraction).toBeGreaterThan(0.4);
    expect(on.deadFraction).toBeLessThan(off.deadFraction - 0.08);
    expect(on.explainedVariance).toBeGreaterThanOrEqual(off.explainedVariance - 0.01);
    // Same sparsity regime: the comparison is at (about) equal L0.
    expect(Math.abs(on.l0 - off.l0)).toBeLessThan(0.25 * off.l0);
    const events = fs
      .readFileSync(path.join(dir, 'with', 'resample.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((r) => r.type === 'event');
    expect(events.map((e) => e.step)).toEqual([40, 80, 120, 160, 200, 240]);
  });
});
