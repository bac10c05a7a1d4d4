import * as tf from '../../../src/backend/tfjs.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/backend/select.js';
import { columnBlock, withEncoderPre } from '../../../src/step/workers/encoder-product.js';
import { maxAbs, maxAbsDiff, randomData } from '../../helpers/tensors.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('encoder product in column blocks', () => {
  it('blocks only weights above 12 MB, in ~4 MB blocks of a multiple of 64 columns', () => {
    expect(columnBlock(512, 4096)).toBe(4096); // config B's slice, 8 MB
    expect(columnBlock(768, 6144)).toBe(1344); // config C's slice, 19 MB
    expect(columnBlock(64, 512)).toBe(512);
  });

  it('gives the same pre-activations in blocks as in one product, for a feature range inside W', () => {
    const rows = 33;
    const d = 16;
    const m = 300;
    const i0 = 40;
    const mk = 200;
    const xc = randomData(rows, d, 1);
    const W = randomData(d, m, 2);
    const b = randomData(1, m, 3);
    const ref = tf.tidy(() =>
      tf.add(tf.matMul(tf.tensor2d(xc, [rows, d]), tf.slice(tf.tensor2d(W, [d, m]), [0, i0], [d, mk])), tf.tensor1d(b.subarray(i0, i0 + mk))),
    );
    const want = ref.dataSync() as Float32Array;
    const before = tf.memory().numTensors;
    const scratch = new Float32Array(rows * mk);
    for (const block of [mk, 64, 7]) {
      const got = withEncoderPre(xc, rows, d, W, m, b, i0, mk, () => scratch, (pre) => Float32Array.from(pre.subarray(0, rows * mk)), block);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-5 * maxAbs(want));
    }
    expect(tf.memory().numTensors).toBe(before);
    ref.dispose();
  });
});
