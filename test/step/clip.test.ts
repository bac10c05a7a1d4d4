import * as tf from '../../src/backend/tfjs.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import type { SaeGradients } from '../../src/sae/gradients.js';
import { PARAM_NAMES } from '../../src/sae/params.js';
import { clipGlobalNorm, clipScale, sumSquares } from '../../src/step/clip.js';
import { randomData } from '../helpers/tensors.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('global-norm clipping: tensors and host sums', () => {
  for (const maxNorm of [0.5, 1e6]) {
    it(`scale the gradients alike (maxNorm ${maxNorm})`, () => {
      const host = { W_enc: randomData(3, 4, 1), b_enc: randomData(1, 4, 2), W_dec: randomData(4, 3, 3), b_dec: randomData(1, 3, 4) };
      const grads: SaeGradients = {
        W_enc: tf.tensor2d(host.W_enc, [3, 4]),
        b_enc: tf.tensor1d(host.b_enc),
        W_dec: tf.tensor2d(host.W_dec, [4, 3]),
        b_dec: tf.tensor1d(host.b_dec),
      };
      const before = tf.memory().numTensors;
      const clipped = clipGlobalNorm(grads, maxNorm);
      // The workers add their slices' squares to a running sum, in order.
      let sq = 0;
      for (const n of PARAM_NAMES) sq = sumSquares(host[n], 0, host[n].length, sq);
      const scale = clipScale(sq, maxNorm);
      if (maxNorm > 1e3) expect(scale).toBe(1);
      else expect(scale).toBeCloseTo(maxNorm / Math.sqrt(sq), 6);
      for (const n of PARAM_NAMES) {
        const got = clipped[n].dataSync();
        host[n].forEach((g, q) => expect(got[q]!).toBeCloseTo(g * scale, 6));
      }
      tf.dispose(Object.values(clipped));
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose(Object.values(grads));
    });
  }

  it('sums squares of a range onto a running total', () => {
    expect(sumSquares(new Float32Array([1, 2, 3, 4]), 1, 3, 10)).toBe(10 + 4 + 9);
    expect(clipScale(0, 1)).toBe(1);
    expect(clipScale(16, 2)).toBe(0.5);
  });
});
