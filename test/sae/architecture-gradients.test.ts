import * as tf from '../../src/backend/tfjs.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { hostRowThresholds, kthLargest, thresholdOf, type StepActivation } from '../../src/sae/activation.js';
import type { AuxKStep } from '../../src/sae/auxk.js';
import type { SaeTensors } from '../../src/sae/forward.js';
import { lossAndGradients } from '../../src/sae/gradients.js';
import { PARAM_NAMES, SaeParams } from '../../src/sae/params.js';
import { maxAbs, maxAbsDiff, randomData, randomWeights } from '../helpers/tensors.js';

beforeAll(async () => {
  await initBackend('cpu');
});

/**
 * The selection mask written independently of sae/activation.ts: from tf.topk's indices (per row,
 * or over the flattened batch), intersected with pre > 0.
 */
function referenceMask(pre: tf.Tensor2D, a: StepActivation, dead?: Int32Array): tf.Tensor2D {
  return tf.tidy(() => {
    const [B, m] = pre.shape;
    let p = pre;
    if (dead) {
      const isDead = tf.scatterND(tf.tensor2d(Array.from(dead), [dead.length, 1], 'int32'), tf.ones([dead.length]), [m]);
      p = tf.where(tf.greater(isDead, 0), pre, tf.fill([B, m], -1e30)) as tf.Tensor2D;
    }
    let sel: tf.Tensor2D;
    if (a.kind === 'topk') {
      sel = tf.sum(tf.oneHot(tf.topk(p, a.k).indices, m), 1) as tf.Tensor2D;
    } else if (a.kind === 'batchtopk') {
      sel = tf.reshape(tf.sum(tf.oneHot(tf.topk(tf.reshape(p, [1, B * m]), a.k * B).indices, B * m), 1), [B, m]) as tf.Tensor2D;
    } else {
      sel = tf.onesLike(p);
    }
    return tf.mul(sel, tf.cast(tf.greater(p, 0), 'float32')) as tf.Tensor2D;
  });
}

/** MSE (+ AuxK with the residual e0 held constant), by plain tensor ops for autodiff. */
function referenceLoss(sae: SaeTensors, x: tf.Tensor2D, mask: tf.Tensor2D, aux?: { step: AuxKStep; mask: tf.Tensor2D; e0: tf.Tensor2D }): tf.Scalar {
  return tf.tidy(() => {
    const B = x.shape[0];
    const pre = tf.add(tf.matMul(tf.sub(x, sae.b_dec), sae.W_enc), sae.b_enc);
    const f = tf.mul(pre, mask);
    const xHat = tf.add(tf.matMul(f, sae.W_dec), sae.b_dec);
    let loss = tf.div(tf.sum(tf.square(tf.sub(xHat, x))), B);
    if (aux) {
      const eHat = tf.matMul(tf.mul(pre, aux.mask), sae.W_dec);
      const tv = tf.sum(tf.square(tf.sub(aux.e0, tf.mean(aux.e0, 0))));
      loss = tf.add(loss, tf.div(tf.mul(tf.sum(tf.square(tf.sub(eHat, aux.e0))), aux.step.coefficient), tv));
    }
    return loss as tf.Scalar;
  });
}

const d = 12;
const m = 40;
const B = 33;

describe('TopK / BatchTopK gradients', () => {
  const cases: { name: string; a: StepActivation; aux: boolean }[] = [
    { name: 'topk', a: { kind: 'topk', k: 5 }, aux: false },
    { name: 'batchtopk', a: { kind: 'batchtopk', k: 5 }, aux: false },
    { name: 'topk + AuxK', a: { kind: 'topk', k: 5 }, aux: true },
    { name: 'batchtopk + AuxK', a: { kind: 'batchtopk', k: 4 }, aux: true },
  ];
  for (const c of cases) {
    it(`match tfjs autodiff of an independent formulation (${c.name})`, () => {
      const params = new SaeParams(randomWeights(d, m, 3));
      const x = tf.tensor2d(randomData(B, d, 4), [B, d]);
      const dead = Int32Array.from([1, 4, 7, 8, 13, 21, 22, 30, 35, 39]);
      const auxStep: AuxKStep = { dead, k: 3, coefficient: 1 / 32 };
      const before = tf.memory().numTensors;
      const { grads, stats } = lossAndGradients(params, x, 0, 'l1', undefined, { activation: c.a, ...(c.aux ? { auxK: auxStep } : {}) });

      const pre = tf.tidy(() => tf.add(tf.matMul(tf.sub(x, params.b_dec), params.W_enc), params.b_enc)) as tf.Tensor2D;
      const mask = referenceMask(pre, c.a);
      const auxMask = referenceMask(pre, { kind: 'topk', k: auxStep.k }, dead);
      const e0 = tf.tidy(() => tf.sub(x, tf.add(tf.matMul(tf.mul(pre, mask), params.W_dec), params.b_dec))) as tf.Tensor2D;
      const aux = c.aux ? { step: auxStep, mask: auxMask, e0 } : undefined;
      const autodiff = tf.grads((a: tf.Tensor, b: tf.Tensor, cc: tf.Tensor, e: tf.Tensor) =>
        referenceLoss({ W_enc: a as tf.Tensor2D, b_enc: b as tf.Tensor1D, W_dec: cc as tf.Tensor2D, b_dec: e as tf.Tensor1D }, x, mask, aux),
      )([params.W_enc, params.b_enc, params.W_dec, params.b_dec]);
      PARAM_NAMES.forEach((n, k) => {
        const ref = autodiff[k]!.dataSync();
        expect(maxAbsDiff(grads[n].dataSync(), ref)).toBeLessThan(1e-4 * Math.max(1, maxAbs(ref)));
        expect(maxAbs(ref)).toBeGreaterThan(0);
      });
      const lossRef = referenceLoss(params, x, mask, aux);
      expect(stats.loss.dataSync()[0]).toBeCloseTo(lossRef.dataSync()[0]!, 4);
      // L0 is exactly k per row (topk) or on average (batchtopk) on this data, whose rows have > k positive entries.
      expect(stats.l0.dataSync()[0]).toBeCloseTo(c.a.kind === 'relu' ? 0 : c.a.k, 6);
      expect(stats.threshold !== undefined).toBe(c.a.kind === 'batchtopk');
      if (c.aux) {
        // AuxK moves only the dead latents' encoder columns and decoder rows.
        const alive = Array.from({ length: m }, (_, i) => i).filter((i) => !dead.includes(i));
        const mainOnly = lossAndGradients(params, x, 0, 'l1', undefined, { activation: c.a });
        const diff = tf.sub(grads.W_dec, mainOnly.grads.W_dec).arraySync() as number[][];
        for (const i of alive) expect(maxAbs(diff[i]!)).toBe(0);
        expect(Math.max(...Array.from(dead, (i) => maxAbs(diff[i]!)))).toBeGreaterThan(0);
        PARAM_NAMES.forEach((n) => mainOnly.grads[n].dispose());
        Object.values(mainOnly.stats).forEach((t) => t.dispose());
      }
      for (const t of [lossRef, pre, mask, auxMask, e0, ...autodiff]) t.dispose();
      PARAM_NAMES.forEach((n) => grads[n].dispose());
      Object.values(stats).forEach((t) => t.dispose());
      x.dispose();
      expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 1);
      params.dispose();
    });
  }
});

describe('selection thresholds', () => {
  it('the host thresholds equal the tensor ones (topk per row, batchtopk per batch)', () => {
    const pre = randomData(9, 30, 5);
    for (const a of [{ kind: 'topk', k: 4 }, { kind: 'batchtopk', k: 4 }, { kind: 'topk', k: 1 }] as StepActivation[]) {
      const host = hostRowThresholds(pre, 9, 30, a, new Float32Array(9));
      const t = thresholdOf(tf.tensor2d(pre, [9, 30]), a);
      const ref = tf.broadcastTo(t, a.kind === 'topk' ? [9, 1] : [9]).dataSync();
      expect(Array.from(host)).toEqual(Array.from(ref));
      t.dispose();
    }
  });

  it('kthLargest is the (k+1)-th largest', () => {
    const v = randomData(1, 101, 9);
    const sorted = Array.from(v).sort((a, b) => b - a);
    for (const k of [0, 1, 50, 99, 100]) expect(kthLargest(Float32Array.from(v), k)).toBe(sorted[k]);
    expect(kthLargest(Float32Array.from([3, 3, 3, 1]), 2)).toBe(3);
  });
});
