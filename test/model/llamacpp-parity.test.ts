import fs from 'node:fs';
import path from 'node:path';
import * as tf from '../../src/backend/tfjs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import type { LlamaModel } from '../../src/model/llama.js';
import { loadModel } from '../../src/model/load.js';
import { REPO } from '../helpers/cli.js';
import { STORIES_260K } from './model-files.js';

/** Written once by scripts/reference/llama-cpp-logprobs.mjs (llama.cpp through node-llama-cpp 3.21.1). */
const reference = JSON.parse(fs.readFileSync(path.join(REPO, 'fixtures', 'reference', 'stories260k-llamacpp.json'), 'utf8')) as {
  tokenizations: { text: string; tokens: number[] }[];
  logprobs: { text: string; tokens: number[]; logprobs: number[] }[];
};

let model: LlamaModel;
beforeAll(async () => {
  await initBackend('wasm');
  model = loadModel(STORIES_260K);
});
afterAll(() => model.dispose());

describe('parity with llama.cpp on stories260K', () => {
  it('tokenizes as llama.cpp does, bytes outside the vocabulary included', () => {
    for (const { text, tokens } of reference.tokenizations) {
      expect(model.tokenizer.encode(text, { bos: false }), JSON.stringify(text)).toEqual(tokens);
      expect(model.tokenizer.decode(tokens)).toBe(text);
    }
  });

  it.each([
    ['the tfjs path', false],
    ['the fast path', true],
  ])('gives per-token log-probabilities within 1e-4 of llama.cpp, %s', async (_, fast) => {
    const before = tf.memory().numTensors;
    let worst = 0;
    for (const ref of reference.logprobs) {
      expect([model.tokenizer.bos, ...model.tokenizer.encode(ref.text, { bos: false })]).toEqual(ref.tokens);
      const lp = tf.tidy(() => {
        const logits = model.forward(tf.tensor2d(ref.tokens, [1, ref.tokens.length], 'int32'), { fast })!;
        return tf.logSoftmax(tf.squeeze(logits, [0]));
      });
      const v = (await lp.data()) as Float32Array;
      lp.dispose();
      const V = model.config.vocabSize;
      ref.logprobs.forEach((expected, i) => {
        worst = Math.max(worst, Math.abs(v[i * V + ref.tokens[i + 1]!]! - expected));
      });
    }
    expect(worst).toBeLessThan(1e-4);
    expect(tf.memory().numTensors).toBe(before);
  });
});
