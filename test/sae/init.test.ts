import * as tf from '../../src/backend/tfjs.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { expectedNormScale, scaleInput } from '../../src/sae/init.js';
import { randomData } from '../helpers/tensors.js';

describe('the input scale (sae.normalize)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('expectedNormScale makes the mean row norm sqrt(d)', () => {
    const [n, d] = [50, 16];
    const x = randomData(n, d, 3);
    const s = expectedNormScale(x, n, d);
    let total = 0;
    for (let r = 0; r < n; r++) total += Math.hypot(...Array.from(x.subarray(r * d, (r + 1) * d), (v) => v * s));
    expect(total / n).toBeCloseTo(Math.sqrt(d), 9);
  });

  it('scaleInput multiplies as tf.mul(x, scale) does (float32 scale, float32 products), in place or into another array', () => {
    const x = randomData(40, 8, 4);
    const scale = 0.1234567891234;
    const ref = tf.tidy(() => tf.mul(tf.tensor1d(x), scale).dataSync() as Float32Array);
    const into = new Float32Array(x.length);
    expect(scaleInput(x, scale, into)).toBe(into);
    expect(Array.from(into)).toEqual(Array.from(ref));
    const inPlace = x.slice();
    expect(scaleInput(inPlace, scale)).toBe(inPlace);
    expect(Array.from(inPlace)).toEqual(Array.from(ref));
    // The double scale would round some products differently.
    expect(Array.from(x, (v) => Math.fround(v * scale))).not.toEqual(Array.from(ref));
  });
});
