import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/backend/select.js';
import { ModelError } from '../../../src/errors.js';
import { readHooks } from '../../../src/model/batches.js';
import type { TokenWindow } from '../../../src/model/documents.js';
import { ForwardPool, resolveThreads, splitBatch } from '../../../src/model/fast/pool.js';
import { packWeights } from '../../../src/model/fast/packed-weights.js';
import type { LlamaModel } from '../../../src/model/llama.js';
import { loadModel } from '../../../src/model/load.js';
import { Rng } from '../../../src/util/rng.js';
import { rmTmp, tmpDir } from '../../helpers/cli.js';
import { STORIES_260K, TINY_SHAPE, writeTinyModel } from '../model-files.js';

const dir = tmpDir('sae-pool-');
const models: Record<string, LlamaModel> = {};
beforeAll(async () => {
  await initBackend('wasm');
  models['stories260K'] = loadModel(STORIES_260K);
  models['odd (head 6, ffn 10)'] = loadModel(writeTinyModel(dir, 'odd.gguf', undefined, { ...TINY_SHAPE, dModel: 12, nHeads: 2, nKvHeads: 1, ffnDim: 10 }));
});
afterAll(() => {
  for (const m of Object.values(models)) m.dispose();
  rmTmp(dir);
});

function windowsOf(lengths: number[], vocab: number, seed: number): TokenWindow[] {
  const rng = new Rng(seed);
  return lengths.map((l, docId) => ({ docId, tokens: Int32Array.from({ length: l }, (_, t) => (t === 0 ? 1 : 3 + rng.int(vocab - 3))) }));
}

/** The bits of a float array, so equality is exact (no tolerance, NaN-safe). */
const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe('splitBatch', () => {
  const cases: { lengths: number[]; parts: number; expected: [number, number][] }[] = [
    { lengths: [256, 256, 256, 256], parts: 2, expected: [[0, 2], [2, 4]] },
    { lengths: [40], parts: 2, expected: [[0, 1]] },
    { lengths: [256, 256, 256], parts: 3, expected: [[0, 1], [1, 2], [2, 3]] },
    // One long window costs as much as several short ones (attention grows with the square).
    { lengths: [512, 64, 64, 64, 64, 64], parts: 2, expected: [[0, 1], [1, 6]] },
  ];
  for (const { lengths, parts, expected } of cases) {
    it(`[${lengths.join(', ')}] in ${parts}`, () => expect(splitBatch(lengths, parts)).toEqual(expected));
  }
  it('covers every window once, in order, in at most `parts` non-empty parts', () => {
    const rng = new Rng(4);
    for (let trial = 0; trial < 200; trial++) {
      const lengths = Array.from({ length: 1 + rng.int(20) }, () => 1 + rng.int(300));
      const parts = 1 + rng.int(5);
      const split = splitBatch(lengths, parts);
      expect(split.length).toBeLessThanOrEqual(parts);
      expect(split.length).toBe(Math.min(parts, lengths.length));
      split.forEach(([from, to], i) => {
        expect(to).toBeGreaterThan(from);
        expect(from).toBe(i === 0 ? 0 : split[i - 1]![1]);
      });
      expect(split[split.length - 1]![1]).toBe(lengths.length);
    }
  });
});

describe('the forward pool', () => {
  it("gives bit-identical activations to the one-thread path, at every hook asked for, for 2 and 3 threads", async () => {
    for (const [label, model] of Object.entries(models)) {
      const ws = windowsOf([37, 5, 64, 1, 64, 20, 63], model.config.vocabSize, 9);
      const hooks = ['blocks.0.hook_attn_out', 'blocks.1.hook_resid_post', 'blocks.0.hook_resid_pre'];
      const one = await readHooks(model, ws, hooks);
      for (const threads of label === 'stories260K' ? [2, 3] : [2]) {
        const pool = await ForwardPool.create(model, threads);
        try {
          const many = await pool.readHooks(ws, hooks);
          expect(many.longest, label).toBe(one.longest);
          hooks.forEach((h, i) => expect(bits(many.acts[i]!), `${label}, ${h}, ${threads} threads`).toEqual(bits(one.acts[i]!)));
          // A batch of fewer windows than threads.
          const single = await pool.readHooks(ws.slice(0, 1), hooks);
          expect(bits(single.acts[1]!)).toEqual(bits((await readHooks(model, ws.slice(0, 1), hooks)).acts[1]!));
        } finally {
          await pool.dispose();
        }
      }
    }
  });

  it('a worker that cannot start is an error, not a hang', async () => {
    const model = models['stories260K']!;
    const good = packWeights(model.config, model.weights, model.rope, true);
    // A corrupt weights buffer: the last array runs past its end.
    const corrupt = { buffer: new SharedArrayBuffer(good.buffer.byteLength - 64), entries: good.entries };
    await expect(ForwardPool.create(model, 2, corrupt)).rejects.toThrow(ModelError);
    await expect(ForwardPool.create(model, 2, corrupt)).rejects.toThrow(/forward worker \d of 2 failed: .*/);
  });

  it('a worker lost during a batch fails the call and every later one', async () => {
    const model = models['stories260K']!;
    const pool = await ForwardPool.create(model, 2);
    const ws = windowsOf(new Array<number>(8).fill(256), model.config.vocabSize, 3);
    try {
      const call = pool.readHooks(ws, ['blocks.4.hook_resid_post']);
      // Test-only access: end one worker as a crash would.
      await (pool as unknown as { workers: { terminate(): Promise<number> }[] }).workers[1]!.terminate();
      await expect(call).rejects.toThrow(/forward worker 1 of 2 failed: it exited/);
      await expect(pool.readHooks(ws, ['blocks.0.hook_resid_post'])).rejects.toThrow(ModelError);
    } finally {
      await pool.dispose();
    }
  });

  it("'auto' threads are the available cores, at most 8", () => {
    expect(resolveThreads(3)).toBe(3);
    expect(resolveThreads('auto')).toBeGreaterThanOrEqual(1);
    expect(resolveThreads('auto')).toBeLessThanOrEqual(8);
  });
});
