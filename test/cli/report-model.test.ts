import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFeatureStats } from '../../src/features/table.js';
import type { RunPageData } from '../../src/report/feature-payload-types.js';
import { loadModel } from '../../src/model/load.js';
import { rmTmp, runCli, tmpDir } from '../helpers/cli.js';
import { randomWeights } from '../helpers/tensors.js';
import { makeFakeRun } from '../io/fake-run.js';
import { STORIES_260K } from '../model/model-files.js';
import { syntheticStats } from '../report/report-fixture.js';

const dir = tmpDir('sae-report-model-');
afterAll(() => rmTmp(dir));

function pageData(html: string): RunPageData {
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  expect(m).not.toBeNull();
  return JSON.parse(m![1]!) as RunPageData;
}

describe('sae report <run> --model', () => {
  it("puts each feature's promoted and suppressed tokens, (W_dec[i] * outputNorm) @ wOut, into its card data", async () => {
    const w = randomWeights(64, 12, 7);
    const run = makeFakeRun(path.join(dir, 'run'), w);
    writeFeatureStats(run, syntheticStats({ m: w.m, d: w.d }));
    const r = await runCli(['report', run, '--model', STORIES_260K]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const data = pageData(fs.readFileSync(path.join(run, 'report.html'), 'utf8'));
    const logits = data.features!.logits!;
    expect(logits.model).toBe('stories260K.gguf');
    expect(logits.top).toBe(10);

    // The same effect computed plainly, a token at a time, from the model's weights.
    const model = loadModel(STORIES_260K);
    const norm = model.weights.outputNorm.dataSync();
    const wOut = model.weights.wOut.dataSync();
    const vocab = model.weights.wOut.shape[1];
    for (let i = 0; i < w.m; i++) {
      const effect = Array.from({ length: vocab }, (_, v) => {
        let s = 0;
        for (let j = 0; j < w.d; j++) s += w.W_dec[i * w.d + j]! * norm[j]! * wOut[j * vocab + v]!;
        return { v, s };
      }).sort((a, b) => b.s - a.s);
      const want = [...effect.slice(0, 10), ...effect.slice(-10).reverse()];
      const flat = logits.effects[i]!;
      expect(flat).toHaveLength(40);
      want.forEach((e, k) => {
        expect(data.features!.strings[flat[2 * k]!]).toBe(model.tokenizer.piece(e.v));
        expect(flat[2 * k + 1]!).toBeCloseTo(e.s, 2);
      });
    }
    model.dispose();
  });

  it("is a clean error (exit 1) when the model's width is not the run's", async () => {
    const run = makeFakeRun(path.join(dir, 'narrow'), randomWeights(4, 8));
    writeFeatureStats(run, syntheticStats({ m: 8, d: 4 }));
    const r = await runCli(['report', run, '--model', STORIES_260K]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/width \(d_model\) is 64, but the dictionary has width 4/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(run, 'report.html'))).toBe(false);
  });
});
