import * as tf from '../../src/backend/tfjs.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { adamConsts, adamRun, AdamState } from '../../src/step/adam.js';
import { maxAbs, maxAbsDiff, randomData } from '../helpers/tensors.js';

beforeAll(async () => {
  await initBackend('cpu');
});

const H = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };

describe('Adam: the tensor update and the host loop', () => {
  it('take the same steps (3 updates, with and without a gradient scale)', () => {
    const d = 3;
    const m = 5;
    const adam = new AdamState(d, m);
    const p0 = randomData(d, m, 1);
    const param = tf.variable(tf.tensor2d(p0, [d, m]));
    const host = { p: Float32Array.from(p0), m: new Float32Array(d * m), v: new Float32Array(d * m) };
    const before = tf.memory().numTensors;
    for (let t = 1; t <= 3; t++) {
      const scale = t === 2 ? 0.5 : 1;
      const g = randomData(d, m, 10 + t);
      const grad = tf.tensor2d(Float32Array.from(g, (x) => x * scale), [d, m]);
      adam.tick();
      adam.update('W_enc', param, grad, 1e-2, H);
      grad.dispose();
      adamRun(host.p, g, host.m, host.v, 0, d * m, adamConsts(t, 1e-2, H, scale));
      const got = param.dataSync();
      expect(maxAbsDiff(got, host.p)).toBeLessThan(1e-6 * Math.max(1, maxAbs(host.p)));
      expect(maxAbsDiff(adam.m.W_enc.dataSync(), host.m)).toBeLessThan(1e-6);
      expect(maxAbsDiff(adam.v.W_enc.dataSync(), host.v)).toBeLessThan(1e-7);
      expect(maxAbsDiff(got, p0)).toBeGreaterThan(0);
    }
    expect(tf.memory().numTensors).toBe(before);
    param.dispose();
    adam.dispose();
  });

  it('first update moves every entry by about lr against the gradient sign (bias correction)', () => {
    const p = new Float32Array([1, 1, 1]);
    adamRun(p, new Float32Array([2, -3, 0.5]), new Float32Array(3), new Float32Array(3), 0, 3, adamConsts(1, 0.1, H));
    expect(Array.from(p).map((x) => Number(x.toFixed(5)))).toEqual([0.9, 1.1, 0.9]);
  });
});
