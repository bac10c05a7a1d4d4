import * as tf from '../../src/backend/tfjs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { batchSums, positionMask } from '../../src/eval/evaluate-model.js';
import { splicedRowSums } from '../../src/eval/spliced-rows.js';
import { paddedTokens, readHooks } from '../../src/model/batches.js';
import { readTokenDocuments, windows, type TokenWindow } from '../../src/model/documents.js';
import { ForwardPool } from '../../src/model/fast/pool.js';
import type { LlamaModel } from '../../src/model/llama.js';
import { loadModel } from '../../src/model/load.js';
import { SaeParams } from '../../src/sae/params.js';
import { Rng } from '../../src/util/rng.js';
import { FIXTURE_EVAL } from '../helpers/cli.js';
import { STORIES_260K } from '../model/model-files.js';

// One reference, one optimisation: the spliced evaluation row by row from the hook on (spliced-rows.ts,
// fast/splice.ts) against four whole tfjs passes (batchSums), at a residual hook (the blocks before
// it run once) and at a mid-block hook (each variant runs the whole pass).
let model: LlamaModel;
let pool: ForwardPool;
let sae: SaeParams;
let batch: TokenWindow[];
beforeAll(async () => {
  await initBackend('wasm');
  model = loadModel(STORIES_260K);
  pool = await ForwardPool.create(model, 2);
  const rng = new Rng(5);
  const d = 64;
  const m = 128;
  sae = new SaeParams({ d, m, W_enc: rng.fillNormal(new Float32Array(d * m)).map((x) => x * 0.1), b_enc: new Float32Array(m), W_dec: rng.fillNormal(new Float32Array(m * d)).map((x) => x * 0.1), b_dec: new Float32Array(d) });
  const docs = readTokenDocuments(FIXTURE_EVAL, model.config.vocabSize);
  batch = [...windows(docs, 48, model.tokenizer.bos)].slice(0, 7);
});
afterAll(async () => {
  await pool.dispose();
  sae.dispose();
  model.dispose();
});

describe('the spliced evaluation, row by row', () => {
  const cases = [
    { hook: 'blocks.2.hook_resid_post', includeBos: false },
    { hook: 'blocks.2.hook_resid_post', includeBos: true },
    { hook: 'blocks.0.hook_resid_pre', includeBos: false },
    { hook: 'blocks.1.hook_mlp_out', includeBos: false },
  ];
  for (const { hook, includeBos } of cases) {
    {
      it(`matches four tfjs passes at ${hook}${includeBos ? ', BOS included' : ''}, and is the same on 1 and 2 threads`, async () => {
        const before = tf.memory().numTensors;
        const d = model.config.dModel;
        const { longest, acts } = await readHooks(model, batch, [hook]);
        const mean = Float32Array.from({ length: d }, (_, j) => Math.sin(j));
        const one = await splicedRowSums(model, null, sae, hook, batch, acts[0]!, longest, mean, includeBos);
        const two = await splicedRowSums(model, pool, sae, hook, batch, acts[0]!, longest, mean, includeBos);
        expect(Array.from(two)).toEqual(Array.from(one));

        const { mask, targets } = positionMask(batch, longest, model.tokenizer.bos, includeBos);
        const splice = new Float32Array(batch.length * longest).fill(1);
        if (!includeBos) batch.forEach((w, i) => w.tokens.forEach((t, p) => t === model.tokenizer.bos && (splice[i * longest + p] = 0)));
        const inputs = [paddedTokens(batch), tf.tensor2d(mask, [batch.length, longest]), tf.tensor3d(splice, [batch.length, longest, 1]), tf.tensor2d(targets, [batch.length, longest], 'int32'), tf.tensor1d(mean)] as const;
        const out = batchSums(model, sae, hook, ...inputs);
        const reference = Array.from(await out.data());
        tf.dispose([out, ...inputs]);
        // [CE clean, sae, zero, mean, KL sae, zero, mean], summed over the batch's positions.
        reference.forEach((r, i) => expect(Math.abs(one[i]! - r), `sum ${i}: ${one[i]} vs ${r}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(r))));
        expect(one[4]!).toBeGreaterThan(0);
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  }
});
