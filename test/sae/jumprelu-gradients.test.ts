import * as tf from '../../src/backend/tfjs.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { lossAndGradients } from '../../src/sae/gradients.js';
import { jumpReluStep, type JumpReluStep } from '../../src/sae/jumprelu.js';
import { resolveJumpRelu, type JumpReluPenalty } from '../../src/sae/jumprelu-config.js';
import { PARAM_NAMES, SaeParams, type SaeWeights } from '../../src/sae/params.js';
import { Rng } from '../../src/util/rng.js';
import { maxAbs, maxAbsDiff, randomData, randomWeights } from '../helpers/tensors.js';

// JumpReLU's loss and gradients (sae/jumprelu.ts) against references written independently:
// the four SAE parameters by tfjs autodiff of the forward loss with the mask held (H has zero
// derivative almost everywhere), the thresholds by the straight-through formulas of Rajamanoharan
// et al. 2024 written as plain float64 loops, and the 'step' threshold gradient also by finite
// differences of the kernel-smoothed L0 (the rectangle kernel integrates to a ramp of width epsilon).

beforeAll(async () => {
  await initBackend('cpu');
});

const d = 12;
const m = 40;
const B = 33;
const eps = 0.3;

function weights(): SaeWeights {
  const rng = new Rng(9);
  // Thresholds between 0.05 and 1: many entries of pre fall within epsilon/2 of theirs.
  const log_threshold = Float32Array.from({ length: m }, () => Math.log(0.05 + 0.95 * rng.next()));
  return { ...randomWeights(d, m, 4), log_threshold };
}

/** Host float64 copies: pre [B][m], theta [m], W_dec rows, e = x_hat - x [B][d]. */
function host(w: SaeWeights, x: Float32Array) {
  const theta = Array.from(w.log_threshold!, Math.exp);
  const pre: number[][] = [];
  const f: number[][] = [];
  const e: number[][] = [];
  for (let b = 0; b < B; b++) {
    const p = Array.from({ length: m }, (_, i) => {
      let s = w.b_enc[i]!;
      for (let j = 0; j < d; j++) s += (x[b * d + j]! - w.b_dec[j]!) * w.W_enc[j * m + i]!;
      return s;
    });
    pre.push(p);
    const fb = p.map((v, i) => (v > theta[i]! ? v : 0));
    f.push(fb);
    e.push(Array.from({ length: d }, (_, j) => {
      let s = w.b_dec[j]!;
      for (let i = 0; i < m; i++) s += fb[i]! * w.W_dec[i * d + j]!;
      return s - x[b * d + j]!;
    }));
  }
  const decNorm = Array.from({ length: m }, (_, i) => Math.hypot(...Array.from(w.W_dec.subarray(i * d, (i + 1) * d))));
  return { theta, pre, f, e, decNorm };
}

/** dL/dlog_threshold by the paper's straight-through estimator, in float64 loops. */
function referenceThresholdGradient(w: SaeWeights, x: Float32Array, j: JumpReluStep): Float64Array {
  const { theta, pre, f, e, decNorm } = host(w, x);
  const lambda = j.coefficient;
  const K = (b: number, i: number) => (Math.abs(pre[b]![i]! - theta[i]!) < eps / 2 ? 1 : 0);
  let l0 = 0;
  for (let b = 0; b < B; b++) for (let i = 0; i < m; i++) l0 += pre[b]![i]! > theta[i]! ? 1 : 0;
  l0 /= B;
  const out = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let g = 0;
    for (let b = 0; b < B; b++) {
      // dL/df_bi: the reconstruction's (2/B) e W_dec^T, plus the tanh penalty's.
      let dF = 0;
      for (let k = 0; k < d; k++) dF += (2 / B) * e[b]![k]! * w.W_dec[i * d + k]!;
      if (j.penalty === 'tanh') dF += (lambda * j.tanhScale! * decNorm[i]! * (1 - Math.tanh(j.tanhScale! * f[b]![i]! * decNorm[i]!) ** 2)) / B;
      g += dF * (-(theta[i]! / eps) * K(b, i)); // d f / d theta
      // d H / d theta = -(1/eps) K, through the L0 terms.
      if (j.penalty === 'step') g += (lambda / B) * (-(1 / eps) * K(b, i));
      if (j.penalty === 'target-l0') g += ((lambda * 2 * (l0 / j.targetL0! - 1)) / j.targetL0! / B) * (-(1 / eps) * K(b, i));
    }
    out[i] = theta[i]! * g; // d theta / d log_threshold = theta
  }
  return out;
}

/** The loss by autodiff-able tensor ops with the mask held; the L0 terms are constants here. */
function referenceLoss(sae: Record<'W_enc' | 'b_enc' | 'W_dec' | 'b_dec', tf.Tensor>, x: tf.Tensor2D, mask: tf.Tensor2D, j: JumpReluStep, l0: number): tf.Scalar {
  return tf.tidy(() => {
    const pre = tf.add(tf.matMul(tf.sub(x, sae.b_dec), sae.W_enc), sae.b_enc);
    const f = tf.mul(pre, mask);
    const xHat = tf.add(tf.matMul(f, sae.W_dec), sae.b_dec);
    const mse = tf.div(tf.sum(tf.square(tf.sub(xHat, x))), B);
    const s =
      j.penalty === 'tanh'
        ? tf.div(tf.sum(tf.tanh(tf.mul(tf.mul(f, tf.norm(sae.W_dec, 'euclidean', 1)), j.tanhScale!))), B)
        : tf.scalar(j.penalty === 'step' ? l0 : (l0 / j.targetL0! - 1) ** 2);
    return tf.add(mse, tf.mul(s, j.coefficient)) as tf.Scalar;
  });
}

const steps: Record<JumpReluPenalty, JumpReluStep> = {
  step: { penalty: 'step', coefficient: 0.7, bandwidth: eps, targetL0: null, tanhScale: null },
  'target-l0': { penalty: 'target-l0', coefficient: 2, bandwidth: eps, targetL0: 5, tanhScale: null },
  tanh: { penalty: 'tanh', coefficient: 0.3, bandwidth: eps, targetL0: null, tanhScale: 4 },
};

describe('JumpReLU gradients (straight-through estimator)', () => {
  const w = weights();
  const xs = randomData(B, d, 6);

  for (const [name, j] of Object.entries(steps)) {
    it(`${name}: loss, the four parameters' gradients (autodiff) and log_threshold's (the paper's STE)`, () => {
      const before = tf.memory().numTensors;
      const params = new SaeParams(w);
      const x = tf.tensor2d(xs, [B, d]);
      const { theta, pre, f, e } = host(w, xs);
      let fired = 0;
      let inWindow = 0;
      for (let b = 0; b < B; b++) for (let i = 0; i < m; i++) {
        if (f[b]![i]! > 0) fired++;
        if (Math.abs(pre[b]![i]! - theta[i]!) < eps / 2) inWindow++;
      }
      // The case is not degenerate: some entries fire, some do not, some sit in the kernel's window.
      expect(fired).toBeGreaterThan(20);
      expect(fired).toBeLessThan(B * m - 20);
      expect(inWindow).toBeGreaterThan(20);
      const l0 = fired / B;

      const { grads, stats } = lossAndGradients(params, x, 0, 'l1', undefined, { activation: { kind: 'relu' }, jumprelu: j });
      const mse = e.reduce((s, row) => s + row.reduce((t, v) => t + v * v, 0), 0) / B;
      expect(stats.mse.dataSync()[0]).toBeCloseTo(mse, 3);
      expect(stats.l0.dataSync()[0]).toBeCloseTo(l0, 5);

      const mask = tf.tensor2d(f.flat().map((v) => (v > 0 ? 1 : 0)), [B, m]);
      const ref = tf.grads((W_enc, b_enc, W_dec, b_dec) => referenceLoss({ W_enc, b_enc, W_dec, b_dec }, x, mask, j, l0));
      const refGrads = ref([params.W_enc, params.b_enc, params.W_dec, params.b_dec]);
      const refLoss = referenceLoss(params, x, mask, j, l0);
      expect(stats.loss.dataSync()[0]).toBeCloseTo(refLoss.dataSync()[0]!, 4);
      PARAM_NAMES.forEach((n, k) => {
        const want = refGrads[k]!.dataSync();
        expect(maxAbsDiff(grads[n].dataSync(), want), n).toBeLessThan(1e-4 * Math.max(1, maxAbs(want)));
      });
      const wantT = referenceThresholdGradient(w, xs, j);
      expect(maxAbs(wantT)).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(grads.log_threshold!.dataSync(), wantT)).toBeLessThan(1e-4 * Math.max(1, maxAbs(wantT)));

      for (const t of [...Object.values(grads), ...refGrads, refLoss, mask, x, ...Object.values(stats)]) (t as tf.Tensor).dispose();
      params.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it("'step': log_threshold's gradient is the finite difference of the kernel-smoothed L0", () => {
    // With the rectangle kernel, the straight-through L0 is sum_b ramp((pre - theta) / eps + 1/2),
    // ramp(u) = clamp(u, 0, 1); a zero-reconstruction-weight step isolates the L0 term.
    const j: JumpReluStep = { ...steps.step, coefficient: 1 };
    const params = new SaeParams(w);
    const x = tf.tensor2d(xs, [B, d]);
    const { pre } = host(w, xs);
    const smoothedL0 = (logT: number[]) => {
      let s = 0;
      for (let b = 0; b < B; b++) for (let i = 0; i < m; i++) s += Math.min(1, Math.max(0, (pre[b]![i]! - Math.exp(logT[i]!)) / eps + 0.5));
      return s / B;
    };
    const { grads, stats } = lossAndGradients(params, x, 0, 'l1', undefined, { activation: { kind: 'relu' }, jumprelu: j });
    const recon = referenceThresholdGradient(w, xs, { ...j, coefficient: 0 }); // the reconstruction's share
    const got = grads.log_threshold!.dataSync();
    const logT = Array.from(w.log_threshold!);
    const h = 1e-6;
    for (let i = 0; i < m; i++) {
      const up = smoothedL0(logT.map((v, k) => (k === i ? v + h : v)));
      const down = smoothedL0(logT.map((v, k) => (k === i ? v - h : v)));
      expect(got[i]! - recon[i]!, `feature ${i}`).toBeCloseTo((up - down) / (2 * h), 3);
    }
    for (const t of [...Object.values(grads), x, ...Object.values(stats)]) (t as tf.Tensor).dispose();
    params.dispose();
  });

  it('the L0 coefficient warms up linearly over warmupSteps', () => {
    const a = resolveJumpRelu({ penalty: 'step', l0Coefficient: 2, warmupSteps: 4 });
    expect([1, 2, 4, 5, 100].map((s) => jumpReluStep(a, s).coefficient)).toEqual([0.5, 1, 2, 2, 2]);
    expect(jumpReluStep(resolveJumpRelu(undefined), 1)).toMatchObject({ penalty: 'step', bandwidth: 0.05, targetL0: null, tanhScale: null });
  });
});
