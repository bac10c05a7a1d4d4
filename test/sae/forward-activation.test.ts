import * as tf from '../../src/backend/tfjs.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import type { Activation } from '../../src/sae/activation.js';
import { encode, encodeFeatures } from '../../src/sae/forward.js';
import { SaeParams } from '../../src/sae/params.js';
import { randomData, randomWeights } from '../helpers/tensors.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('encode and encodeFeatures with the dictionary activation', () => {
  const d = 6;
  const m = 30;
  const x = randomData(11, d, 8);
  const acts: Activation[] = [
    { kind: 'relu' },
    { kind: 'topk', k: 3 },
    { kind: 'jumprelu', threshold: Float32Array.from({ length: m }, (_, i) => 0.3 * (i % 3)) },
  ];
  for (const a of acts) {
    it(`${a.kind}: the picked columns equal those of the full encoding; the activation shapes the code`, () => {
      const p = new SaeParams({ ...randomWeights(d, m, 3), activation: a });
      const xt = tf.tensor2d(x, [11, d]);
      const before = tf.memory().numTensors;
      const full = encode(p, xt);
      const idx = [0, 4, 7, 29];
      const cols = encodeFeatures(p, xt, idx);
      const picked = tf.gather(full, idx, 1);
      expect(Array.from(cols.dataSync())).toEqual(Array.from(picked.dataSync()));
      picked.dispose();
      const f = full.arraySync() as number[][];
      for (const row of f) {
        const active = row.filter((v) => v > 0).length;
        if (a.kind === 'topk') expect(active).toBeLessThanOrEqual(3);
        if (a.kind === 'jumprelu') row.forEach((v, i) => expect(v === 0 || v > 0.3 * (i % 3)).toBe(true));
      }
      full.dispose();
      cols.dispose();
      expect(tf.memory().numTensors).toBe(before);
      xt.dispose();
      p.dispose();
    });
  }
});
