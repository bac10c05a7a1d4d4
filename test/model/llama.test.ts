import fs from 'node:fs';
import path from 'node:path';
import * as tf from '../../src/backend/tfjs.js';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { ModelError } from '../../src/errors.js';
import { batchWindows, readHooks } from '../../src/model/batches.js';
import { readTokenDocuments, windows } from '../../src/model/documents.js';
import { generateGreedy } from '../../src/model/generate.js';
import { KvCache } from '../../src/model/kv-cache.js';
import type { LlamaModel } from '../../src/model/llama.js';
import { loadModel } from '../../src/model/load.js';
import { maxAbsDiff } from '../helpers/tensors.js';
import { SHARED } from '../helpers/shared.js';
import { rmTmp, tmpDir } from '../helpers/cli.js';
import { STORIES_260K, TINY_SHAPE, writeTinyModel } from './model-files.js';

let model: LlamaModel;
beforeAll(async () => {
  await initBackend('wasm');
  model = loadModel(STORIES_260K);
});
afterAll(() => model.dispose());

const HOOK = 'blocks.2.hook_resid_post';

describe('stories260K forward pass', () => {
  it('continues "Once upon a time" greedily exactly as llama2.c\'s published sample', async () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(SHARED, 'data', 'stories260k-manifest.json'), 'utf8')) as { validation: { prompt: string; greedy_text: string } };
    const prompt = model.tokenizer.encode(manifest.validation.prompt);
    expect(prompt).toEqual([1, 403, 407, 261, 378]);
    // llama2.c `run -t 0 -n 256`: 256 steps after BOS.
    const out = await generateGreedy(model, prompt, 257);
    expect(model.tokenizer.decode(out)).toBe(manifest.validation.greedy_text);
  });

  it('reproduces the numpy reference activations at blocks.2.hook_resid_post within 1e-3', async () => {
    const file = path.join(SHARED, 'data', 'stories260k-L2-eval.arrow');
    const table = tableFromIPC(fs.readFileSync(file));
    const docs = readTokenDocuments(file, model.config.vocabSize).slice(0, 12);
    const rows = docs.reduce((s, d) => s + d.tokens.length, 0);
    const stored = table.getChild('activation')!.slice(0, rows);
    const expected = new Float32Array(rows * 64);
    let at = 0;
    for (const v of stored) {
      expected.set(v!.toArray() as Float32Array, at);
      at += 64;
    }
    const got = new Float32Array(rows * 64);
    at = 0;
    for (const batch of batchWindows(windows(docs, 512, model.tokenizer.bos), model.config.nHeads)) {
      const { longest, acts } = await readHooks(model, batch, [HOOK]);
      batch.forEach((w, i) => {
        got.set(acts[0]!.subarray(i * longest * 64, (i * longest + w.tokens.length) * 64), at);
        at += w.tokens.length * 64;
      });
    }
    expect(at).toBe(rows * 64);
    expect(maxAbsDiff(got, expected)).toBeLessThan(1e-3);
  });
});

describe('hooks', () => {
  const ids = () => tf.tensor2d([[1, 403, 407, 261, 378, 432]], [1, 6], 'int32');

  it('read every point, replace one, and stop early, leaking no tensor', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const seen: string[] = [];
      const clean = model.forward(ids(), {
        hooks: Object.fromEntries(['resid_pre', 'attn_out', 'mlp_out', 'resid_post'].map((k) => [`blocks.1.hook_${k}`, (x: tf.Tensor3D) => void seen.push(`${k}:${x.shape.join('x')}`)])),
      })!;
      expect(seen).toEqual(['resid_pre:1x6x64', 'attn_out:1x6x64', 'mlp_out:1x6x64', 'resid_post:1x6x64']);
      // Identity replacement changes nothing; zeroing the residual stream changes the logits.
      const same = model.forward(ids(), { hooks: { [HOOK]: (x) => tf.mul(x, 1) as tf.Tensor3D } })!;
      expect(maxAbsDiff(same.dataSync(), clean.dataSync())).toBe(0);
      const zeroed = model.forward(ids(), { hooks: { [HOOK]: (x) => tf.zerosLike(x) } })!;
      expect(maxAbsDiff(zeroed.dataSync(), clean.dataSync())).toBeGreaterThan(0.1);
      expect(model.forward(ids(), { stopAfter: HOOK })).toBeNull();
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names a hook that does not exist', () => {
    expect(() => model.hook('blocks.9.hook_resid_post')).toThrow(/5 blocks \(0 to 4\), there is no block 9/);
    expect(() => model.hook('blocks.2.resid')).toThrow(ModelError);
  });

  it('lets tf.grad through the forward pass, at a hook', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const tokens = ids();
      // d(logit of the last position's top token) / d(resid_post at layer 2), by replacing the hook.
      const loss = (delta: tf.Tensor): tf.Scalar => {
        const logits = model.forward(tokens, { hooks: { [HOOK]: (x) => tf.add(x, delta) as tf.Tensor3D } })!;
        return tf.sum(tf.slice(logits, [0, 5, 0], [1, 1, 1]));
      };
      const zero = tf.zeros([1, 6, 64]) as tf.Tensor3D;
      const g = tf.grad(loss)(zero);
      expect(g.shape).toEqual([1, 6, 64]);
      const gv = g.dataSync();
      // Causality: positions after 5 do not exist; the gradient at position 5 is non-zero and finite.
      expect(gv.every(Number.isFinite)).toBe(true);
      // Finite difference along the gradient direction.
      const eps = 1e-2;
      const dir = tf.div(g, tf.norm(g)) as tf.Tensor3D;
      const fd = (loss(tf.mul(dir, eps) as tf.Tensor3D).dataSync()[0]! - loss(tf.mul(dir, -eps) as tf.Tensor3D).dataSync()[0]!) / (2 * eps);
      expect(fd).toBeCloseTo(tf.norm(g).dataSync()[0]!, 1);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('KV cache', () => {
  it('gives the same logits one token at a time as in one pass', async () => {
    const seq = [1, 403, 407, 261, 378, 432, 383];
    const full = tf.tidy(() => model.forward(tf.tensor2d(seq, [1, seq.length], 'int32'))!);
    const cache = new KvCache(model.config.nLayers);
    const parts: tf.Tensor3D[] = [];
    parts.push(model.forward(tf.tensor2d(seq.slice(0, 3), [1, 3], 'int32'), { cache })!);
    for (let i = 3; i < seq.length; i++) parts.push(model.forward(tf.tensor2d([seq[i]!], [1, 1], 'int32'), { cache })!);
    const stepped = tf.concat(parts, 1);
    expect(maxAbsDiff(await stepped.data(), await full.data())).toBeLessThan(1e-4);
    tf.dispose([full, stepped, ...parts]);
    cache.dispose();
  });
});

describe('other models', () => {
  it('loads an F16 model with grouped-query attention and runs it', () => {
    const dir = tmpDir('sae-f16-');
    try {
      const file = writeTinyModel(dir, 'tiny-f16.gguf', undefined, TINY_SHAPE, 'F16');
      const m = loadModel(file);
      const logits = tf.tidy(() => m.forward(tf.tensor2d([[1, 40, 50, 60]], [1, 4], 'int32'))!);
      expect(logits.shape).toEqual([1, 4, TINY_SHAPE.vocabSize]);
      expect(logits.dataSync().every(Number.isFinite)).toBe(true);
      logits.dispose();
      m.dispose();
    } finally {
      rmTmp(dir);
    }
  });

  it('refuses positions beyond the context', () => {
    expect(() => tf.tidy(() => void model.forward(tf.zeros([1, 2049], 'int32') as tf.Tensor2D))).toThrow(/context is 2048/);
  });
});
