import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { listCheckpoints, readCheckpoint } from '../../src/io/checkpoint/checkpoint.js';
import { PARAM_NAMES } from '../../src/sae/params.js';
import { train } from '../../src/train/trainer.js';
import { FIXTURE_EVAL, FIXTURE_TRAIN, rmTmp, tmpDir } from '../helpers/cli.js';
import { buildConfig } from '../helpers/config.js';
import { maxAbs, maxAbsDiff } from '../helpers/tensors.js';

// The worker step keeps the weights in its workers between steps (parallel-step.ts); the loop
// syncs them into params and adam before a checkpoint, resampling and the end of the run. A
// checkpoint mid-run must hold the weights of that step, and checkpoints and resampling must not
// change the trajectory. Worker threads run the built dist/.
const dir = tmpDir('sae-worker-sync-');
beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(() => rmTmp(dir));

const run = (name: string, steps: number, checkpointEverySteps: number, workers = 2) =>
  train(
    {
      config: buildConfig({
        data: { train: [FIXTURE_TRAIN], eval: [FIXTURE_EVAL], shuffleBuffer: 4096 },
        sae: { width: 128, l1: 0.05, bDecInit: 'mean', initSamples: 1024 },
        train: { steps, batchSize: 256, logEvery: 2, seed: 3, workers, kernel: 'auto' },
        resample: { steps: [4], deadWindow: 2, samples: 1024 },
        output: { checkpointEverySteps, checkpointEveryMinutes: 0, keepCheckpoints: 5, topK: 1, statsRows: 512 },
      }),
      outDir: `${dir}/${name}`,
    },
  );

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('state held in the workers, synced where it is read', () => {
  it('a checkpoint at step 3 holds the weights of a 3-step run; checkpoints and a resample mid-run leave the result bit-exact', async () => {
    const withCheckpoints = await run('every3', 6, 3);
    const once = await run('end-only', 6, 0);
    const short = await run('short', 3, 0);
    const at3 = readCheckpoint(listCheckpoints(withCheckpoints.runDir).find((c) => c.step === 3)!.dir);
    const end3 = readCheckpoint(listCheckpoints(short.runDir).at(-1)!.dir);
    const [endA, endB] = [withCheckpoints, once].map((r) => readCheckpoint(listCheckpoints(r.runDir).at(-1)!.dir));
    for (const n of PARAM_NAMES) {
      expect(bits(at3.weights[n])).toEqual(bits(end3.weights[n]));
      expect(bits(endA!.weights[n])).toEqual(bits(endB!.weights[n]));
    }
    // Adam's moments too (a resume continues from them).
    expect(bits(at3.adam.v.W_dec)).toEqual(bits(end3.adam.v.W_dec));
    expect(withCheckpoints.eval.mse).toBe(once.eval.mse);
    // The resampling at step 4 scored and edited the synced weights: one thread (the reference
    // formulations, no state held) agrees up to float32 summation order.
    const oneThread = await run('one-thread', 6, 0, 1);
    const ref = readCheckpoint(listCheckpoints(oneThread.runDir).at(-1)!.dir);
    for (const n of PARAM_NAMES) expect(maxAbsDiff(endA!.weights[n], ref.weights[n])).toBeLessThan(1e-3 * Math.max(1, maxAbs(ref.weights[n])));
  }, 120_000);
});
