import * as tf from '../../src/backend/tfjs.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { projectDecoderGradient, projectRows, unitNormRows, unitRows } from '../../src/step/decoder-constraint.js';
import { maxAbsDiff, randomData } from '../helpers/tensors.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe("the 'unit-norm' decoder constraint: tensors and host rows", () => {
  const m = 6;
  const d = 4;

  it('renormalise rows alike; the host version touches only its range', () => {
    const w = randomData(m, d, 5);
    const before = tf.memory().numTensors;
    const t = tf.tensor2d(w, [m, d]);
    const unit = unitRows(t);
    const ref = unit.dataSync();
    const host = Float32Array.from(w);
    unitNormRows(host, 0, 3, d);
    unitNormRows(host, 3, m, d);
    expect(maxAbsDiff(host, ref)).toBeLessThan(1e-6);
    for (let i = 0; i < m; i++) expect(Math.hypot(...host.subarray(i * d, i * d + d))).toBeCloseTo(1, 6);
    const part = Float32Array.from(w);
    unitNormRows(part, 2, 4, d);
    expect(Array.from(part.subarray(0, 2 * d))).toEqual(Array.from(w.subarray(0, 2 * d)));
    tf.dispose([t, unit]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('project the gradient tangent to unit rows alike', () => {
    const w = randomData(m, d, 6);
    unitNormRows(w, 0, m, d);
    const g = randomData(m, d, 7);
    const before = tf.memory().numTensors;
    const [gt, wt] = [tf.tensor2d(g, [m, d]), tf.tensor2d(w, [m, d])];
    const projected = projectDecoderGradient(gt, wt);
    const ref = projected.dataSync();
    const host = Float32Array.from(g);
    projectRows(host, w, 0, m, d);
    expect(maxAbsDiff(host, ref)).toBeLessThan(1e-6);
    // Tangent: no component along the row is left.
    for (let i = 0; i < m; i++) {
      let along = 0;
      for (let j = 0; j < d; j++) along += host[i * d + j]! * w[i * d + j]!;
      expect(Math.abs(along)).toBeLessThan(1e-6);
    }
    tf.dispose([gt, wt, projected]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
