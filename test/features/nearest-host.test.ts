import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '../../src/backend/tfjs.js';
import { initBackend } from '../../src/backend/select.js';
import { nearestDecoderNeighbours } from '../../src/features/geometry.js';
import { nearestUnitRowsHost } from '../../src/features/nearest-host.js';
import { randomWeights } from '../helpers/tensors.js';

describe('nearestUnitRowsHost', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  afterAll(async () => {
    await initBackend('cpu');
  });

  /** W_dec [m, d] random, with exact duplicates (ties) and a zero row. */
  function dictionary(m: number, d: number, seed: number): Float32Array {
    const w = randomWeights(d, m, seed).W_dec;
    w.copyWithin(5 * d, 3 * d, 4 * d); // row 5 = row 3
    w.copyWithin(100 * d, 3 * d, 4 * d); // row 100 = row 3
    w.copyWithin(60 * d, 61 * d, 62 * d); // row 60 = row 61
    w.fill(0, 7 * d, 8 * d); // row 7 is zero
    return w;
  }

  it.each([
    [257, 40, 0],
    [257, 40, 257 * 7],
    [300, 64, 300 * 128],
    [130, 9, 130],
  ])('is the tfjs path to the bit, ties to the first index (m %i, d %i, block of %i floats)', async (m, d, blockFloats) => {
    const w = dictionary(m, d, m + d);
    const W_dec = tf.tensor2d(w, [m, d]);
    const ref = await nearestDecoderNeighbours(W_dec, { host: false });
    const unit = tf.tidy(() => tf.div(W_dec, tf.maximum(tf.sqrt(tf.sum(tf.square(W_dec), 1, true)), 1e-12)));
    const host = nearestUnitRowsHost((await unit.data()) as Float32Array, m, d, blockFloats ? { blockFloats } : {})!;
    tf.dispose([W_dec, unit]);
    expect(host).not.toBeNull();
    expect(Array.from(host.nearestIndex)).toEqual(Array.from(ref.nearestIndex));
    expect(Array.from(host.nearestCos)).toEqual(Array.from(ref.nearestCos));
    // The duplicates find each other first (cosine 1, up to rounding); the zero row's cosines are all 0.
    expect([host.nearestIndex[3], host.nearestIndex[5], host.nearestIndex[100]]).toEqual([5, 3, 3]);
    expect([host.nearestIndex[60], host.nearestIndex[61]]).toEqual([61, 60]);
    expect([host.nearestIndex[7], host.nearestCos[7]]).toEqual([0, 0]);
  });

  it('is what nearestDecoderNeighbours answers on the wasm backend by default', async () => {
    const w = dictionary(150, 16, 3);
    const W_dec = tf.tensor2d(w, [150, 16]);
    const before = tf.memory().numTensors;
    const auto = await nearestDecoderNeighbours(W_dec);
    const tfjs = await nearestDecoderNeighbours(W_dec, { host: false });
    expect(tf.memory().numTensors).toBe(before);
    W_dec.dispose();
    expect(Array.from(auto.nearestIndex)).toEqual(Array.from(tfjs.nearestIndex));
    expect(Array.from(auto.nearestCos)).toEqual(Array.from(tfjs.nearestCos));
  });

  it('answers -1 and NaN for a single row', () => {
    const one = nearestUnitRowsHost(new Float32Array([0.6, 0.8]), 1, 2)!;
    expect([one.nearestIndex[0], one.nearestCos[0]]).toEqual([-1, NaN]);
  });
});
