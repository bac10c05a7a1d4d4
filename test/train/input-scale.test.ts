import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { readBlocks, scanDataset } from '../../src/data/dataset.js';
import { writeArrowFile } from '../../src/io/arrow-write.js';
import { listCheckpoints, readCheckpoint } from '../../src/io/checkpoint/checkpoint.js';
import { PARAM_NAMES } from '../../src/sae/params.js';
import { train } from '../../src/train/trainer.js';
import { FIXTURE_EVAL, FIXTURE_TRAIN, rmTmp, tmpDir } from '../helpers/cli.js';
import { buildConfig } from '../helpers/config.js';

// sae.normalize 'expected-norm': the loop hands the step its batch and the input scale (StepInput);
// the worker threads multiply as they copy their rows out of the training stream's pool
// (row-reduce.ts loadRows), a formulation on this thread takes tfjs' x * scale. Either way the run
// must train on the scaled rows: a run on raw data with the scale matches a run, without one, on
// the same data multiplied by that scale beforehand.
const dir = tmpDir('sae-input-scale-');
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const COLS = { column: 'activation', columns: { tokenId: 'token_id', token: 'token', docId: 'doc_id', pos: 'pos' } };

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(() => rmTmp(dir));

/** The fixture's activations times `factor` (float32), as a file of their own. */
async function scaledCopy(source: string, factor: number, name: string): Promise<string> {
  const ds = await scanDataset([source], COLS);
  const x = new Float32Array(ds.rows * ds.d);
  let at = 0;
  for await (const b of readBlocks(ds, { ...COLS, meta: false })) {
    for (let i = 0; i < b.rows * b.d; i++) x[at + i] = Math.fround(b.x[i]! * factor);
    at += b.rows * b.d;
  }
  const file = path.join(dir, `${name}.arrow`);
  writeArrowFile(file, [{ name: 'activation', kind: 'vector', width: ds.d, values: x }]);
  return file;
}

async function run(name: string, data: { train: string; eval: string }, normalize: 'none' | 'expected-norm', workers: number) {
  const r = await train({
    config: buildConfig({
      data: { train: [data.train], eval: [data.eval], shuffleBuffer: 2048 },
      sae: { width: 128, l1: 0.05, bDecInit: 'mean', initSamples: 1024, normalize },
      train: { steps: 6, batchSize: 256, logEvery: 2, seed: 5, workers, kernel: 'auto' },
      resample: { enabled: false },
      output: { checkpointEverySteps: 0, checkpointEveryMinutes: 0, topK: 1, statsRows: 256 },
    }),
    outDir: path.join(dir, name),
  });
  return readCheckpoint(listCheckpoints(r.runDir).at(-1)!.dir);
}

describe('the input scale on the step', () => {
  it('a run with sae.normalize trains on the scaled rows, on two workers, one, and the main thread alone', async () => {
    // Ten times the fixture, so that the scale (about 0.12) is far from 1.
    const raw = { train: await scaledCopy(FIXTURE_TRAIN, 10, 'raw-train'), eval: await scaledCopy(FIXTURE_EVAL, 10, 'raw-eval') };
    for (const workers of [2, 1, 0]) {
      const normalized = await run(`normalized-${workers}`, raw, 'expected-norm', workers);
      const s = normalized.inputScale;
      expect(s).toBeGreaterThan(0.05);
      expect(s).toBeLessThan(0.2);
      const f = Math.fround(s);
      const pre = { train: await scaledCopy(raw.train, f, `pre-train-${workers}`), eval: await scaledCopy(raw.eval, f, `pre-eval-${workers}`) };
      const prescaled = await run(`prescaled-${workers}`, pre, 'none', workers);
      expect(prescaled.inputScale).toBe(1);
      // The same training in the same units, to the bit: the init sample, the batches and the step all take float32 x * fround(scale).
      for (const n of PARAM_NAMES) {
        expect(bits(normalized.weights[n]), `${n}, ${workers} worker(s)`).toEqual(bits(prescaled.weights[n]));
        expect(bits(normalized.adam.v[n]!), `Adam's v of ${n}`).toEqual(bits(prescaled.adam.v[n]!));
      }
    }
  }, 120_000);
});
