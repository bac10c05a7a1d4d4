import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { listCheckpoints, readCheckpoint } from '../../src/io/checkpoint/checkpoint.js';
import { PARAM_NAMES } from '../../src/sae/params.js';
import { train } from '../../src/train/trainer.js';
import { FIXTURE_EVAL, FIXTURE_TRAIN, rmTmp, tmpDir } from '../helpers/cli.js';
import { buildConfig } from '../helpers/config.js';

// TopK and BatchTopK with AuxK on worker threads through the trainer: the selection and AuxK run
// in the workers from step 1 (the state stays there), and a run resumed from a checkpoint ends
// bit for bit where the uninterrupted run ends. Worker threads run the built dist/.
const dir = tmpDir('sae-worker-topk-');
beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(() => rmTmp(dir));

const STEPS = 6;

function request(name: string, architecture: 'topk' | 'batchtopk', steps: number) {
  return {
    config: buildConfig({
      data: { train: [FIXTURE_TRAIN], eval: [FIXTURE_EVAL], shuffleBuffer: 4096 },
      // deadTokens = one batch: latents that did not fire in the last step feed AuxK from step 2.
      sae: { width: 128, architecture, k: 6, auxK: { deadTokens: 256 }, bDecInit: 'mean', initSamples: 1024 },
      train: { steps, batchSize: 256, logEvery: 2, seed: 5, workers: 2, kernel: 'auto' },
      output: { checkpointEverySteps: 3, checkpointEveryMinutes: 0, keepCheckpoints: 5, topK: 1, statsRows: 512 },
    }),
    outDir: `${dir}/${name}`,
  };
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const finalWeights = (runDir: string) => readCheckpoint(listCheckpoints(runDir).at(-1)!.dir);

describe('TopK / BatchTopK with AuxK on the workers, through the trainer', () => {
  for (const architecture of ['topk', 'batchtopk'] as const) {
    it(`${architecture}: every step on the workers; stopped at step 3 and resumed, the run ends bit-exact`, async () => {
      const kernels: string[] = [];
      const whole = await train(request(`${architecture}-whole`, architecture, STEPS), { onStep: (s) => kernels.push(s.kernel) });
      expect(kernels).toEqual(Array(STEPS).fill('sparse x2 workers (simd)'));
      expect(whole.last!.l0).toBeCloseTo(6, 1);

      let step = 0;
      const stopped = request(`${architecture}-stopped`, architecture, STEPS);
      const stopAt3 = { onStep: () => void step++, stopRequested: () => (step === 3 ? { reason: 'test', exitCode: 130 } : null) };
      await expect(train(stopped, stopAt3)).rejects.toThrow(/stopped at step 3 of 6; checkpoint written at step 3/);
      const half = { runDir: stopped.outDir };
      const resumed = await train({ resume: half.runDir }, { onStep: (s) => kernels.push(s.kernel) });
      expect(resumed.resumedFrom).toBe(3);
      const [a, b] = [finalWeights(whole.runDir), finalWeights(resumed.runDir)];
      for (const n of PARAM_NAMES) expect(bits(b.weights[n]), n).toEqual(bits(a.weights[n]));
      expect(bits(b.adam.v.W_enc)).toEqual(bits(a.adam.v.W_enc));
      expect(resumed.eval.mse).toBe(whole.eval.mse);
    }, 120_000);
  }
});
