import * as tf from '../backend/tfjs.js';
import type { SaeTensors } from './forward.js';
import type { PhaseTimer } from '../util/phase-timer.js';
import { thresholdOf, type StepActivation } from './activation.js';
import { auxKLossAndGradients, type AuxKStep } from './auxk.js';
import { jumpReluLossAndGradients, type JumpReluStep } from './jumprelu.js';
import { InternalError } from '../errors.js';
import type { SaeGradients, StepStats } from './step-records.js';

/** Which sparsity penalty: plain L1 on f (2023), or L1 on f_i * ||W_dec_i|| (April 2024 update). */
export type SparsityPenalty = 'l1' | 'l1-decoder-norm';

export type { SaeGradients, StepStats } from './step-records.js';

/** What the architecture adds to the step (architecture.ts): the selection and the AuxK loss. */
export interface StepArchitecture {
  activation: StepActivation;
  /** AuxK with this step's dead latents; null or absent: no auxiliary loss. */
  auxK?: AuxKStep | null;
  /**
   * jumprelu: the learned thresholds (sae.log_threshold) on top of `activation` (ReLU), their
   * straight-through gradients and the L0 penalty (sae/jumprelu.ts), in place of the L1 term.
   */
  jumprelu?: JumpReluStep;
}

export interface LossGradOutput {
  grads: SaeGradients;
  stats: StepStats;
}

/**
 * Loss and its exact gradients for one batch, written out by hand so that every matrix product
 * is in the plain layout (no transposeA/transposeB flags: on the wasm backend those are 10-40x
 * slower, see PERF.md). Transposes are explicit and only of the smaller operands.
 *
 *   xc = x - b_dec;  pre = xc W_enc + b_enc;  f = relu(pre);  x_hat = f W_dec + b_dec
 *   L = (1/B) sum_b ||x_hat_b - x_b||^2 + l1 * (1/B) sum_b sum_i f_bi c_i,
 *   c_i = 1 ('l1') or ||W_dec_i|| ('l1-decoder-norm').
 *
 * x [B, d] -> gradients in the parameters' shapes. `timer` (optional) is charged per phase.
 */
export function lossAndGradients(
  sae: SaeTensors,
  x: tf.Tensor2D,
  l1Coefficient: number,
  penalty: SparsityPenalty,
  timer?: PhaseTimer,
  arch?: StepArchitecture,
): LossGradOutput {
  if (arch?.jumprelu) {
    if (!sae.log_threshold) throw new InternalError('a jumprelu step reached an SAE without log_threshold');
    return jumpReluLossAndGradients({ ...sae, log_threshold: sae.log_threshold }, x, arch.jumprelu);
  }
  return tf.tidy(() => {
    const B = x.shape[0];
    const m = sae.W_enc.shape[1];
    // [B, m] intermediates are disposed as soon as they are used (tidy would keep them all to
    // the end): at config C each is 200 MB and the wasm heap never shrinks.
    const xc = tf.sub(x, sae.b_dec) as tf.Tensor2D;
    const act = arch?.activation ?? { kind: 'relu' };
    let threshold: tf.Scalar | undefined;
    const f =
      act.kind === 'relu'
        ? (tf.tidy(() => tf.relu(tf.add(tf.matMul(xc, sae.W_enc), sae.b_enc))) as tf.Tensor2D)
        : tf.tidy(() => {
            // TopK / BatchTopK: pre where pre > the row's (batch's) threshold, which is >= 0, so
            // step(f) below is the selection mask and the ReLU gradient is theirs too.
            const pre = tf.add(tf.matMul(xc, sae.W_enc), sae.b_enc) as tf.Tensor2D;
            const t = thresholdOf(pre, act);
            if (act.kind === 'batchtopk') threshold = tf.keep(tf.reshape(t, []) as tf.Scalar);
            return tf.where(tf.greater(pre, t), pre, tf.zerosLike(pre)) as tf.Tensor2D;
          });
    timer?.lap('encode');
    const xHat = tf.add(tf.matMul(f, sae.W_dec), sae.b_dec) as tf.Tensor2D;
    const e = tf.sub(xHat, x) as tf.Tensor2D;
    timer?.lap('decode');

    const ones = tf.ones([1, B]) as tf.Tensor2D;
    const fSum = columnSums(f, ones); // [m]
    const decNorm = penalty === 'l1-decoder-norm' ? (tf.norm(sae.W_dec, 'euclidean', 1) as tf.Tensor1D) : null;

    const sse = tf.sum(tf.square(e));
    const mse = tf.div(sse, B) as tf.Scalar;
    const l1 = tf.div(decNorm ? tf.sum(tf.mul(fSum, decNorm)) : tf.sum(fSum), B) as tf.Scalar;
    const aux = arch?.auxK && arch.auxK.dead.length > 0 ? auxKLossAndGradients(sae, xc, tf.neg(e) as tf.Tensor2D, arch.auxK) : null;
    const mainLoss = tf.add(mse, tf.mul(l1, l1Coefficient)) as tf.Scalar;
    const loss = aux ? (tf.add(mainLoss, aux.loss) as tf.Scalar) : mainLoss;

    // dL/dx_hat = (2/B) e
    const g = tf.mul(e, 2 / B) as tf.Tensor2D;
    const WdecT = tf.transpose(sae.W_dec) as tf.Tensor2D; // [d, m]
    const spars = decNorm ? tf.mul(decNorm, l1Coefficient / B) : tf.fill([m], l1Coefficient / B);
    // dL/dpre = (g W_dec^T + l1 c / B) masked by the ReLU; the mask step(f) = (pre > 0 ? 1 : 0)
    // is one op (greater + cast is two, and much slower on wasm). Also gives the firing counts.
    const { gPre, firedCounts } = tf.tidy(() => {
      const active = tf.step(f) as tf.Tensor2D;
      const counts = columnSums(active, ones);
      const dF = tf.fused.matMul({ a: g, b: WdecT, bias: spars });
      return { gPre: tf.mul(dF, active) as tf.Tensor2D, firedCounts: counts };
    });

    const xcT = tf.transpose(xc) as tf.Tensor2D; // [d, B]
    const gW_enc = tf.matMul(xcT, gPre) as tf.Tensor2D; // [d, m]
    const gPreSum = columnSums(gPre, ones); // [m]
    const gb_enc = gPreSum;
    gPre.dispose();

    const gT = tf.transpose(g) as tf.Tensor2D; // [d, B]
    let gW_dec = tf.tidy(() => tf.transpose(tf.matMul(gT, f))) as tf.Tensor2D; // [m, d]
    f.dispose();
    if (decNorm) {
      // d/dW_dec_i of l1 * (1/B) fSum_i ||W_dec_i|| = l1 fSum_i / B * W_dec_i / ||W_dec_i||
      const coef = tf.div(tf.mul(fSum, l1Coefficient / B), tf.maximum(decNorm, 1e-12));
      gW_dec = tf.add(gW_dec, tf.mul(sae.W_dec, tf.expandDims(coef, 1))) as tf.Tensor2D;
    }
    // b_dec enters twice: + in x_hat, - in xc. The second term is -(sum_b gPre) W_enc^T, computed
    // as W_enc [d, m] x gPreSum [m, 1] to keep the plain layout.
    const gb_dec = tf.sub(columnSums(g, ones), tf.reshape(tf.matMul(sae.W_enc, tf.reshape(gPreSum, [-1, 1])), [-1])) as tf.Tensor1D;

    timer?.lap('backward');
    const mean = tf.div(columnSums(x, ones), B);
    const totalVariance = tf.sum(tf.square(tf.sub(x, mean))) as tf.Scalar;
    const l0 = tf.div(tf.sum(firedCounts), B) as tf.Scalar;
    timer?.lap('bookkeeping');

    const grads = { W_enc: gW_enc, b_enc: gb_enc, W_dec: gW_dec, b_dec: gb_dec };
    return {
      grads: aux ? { ...addGradients(grads, aux.grads) } : grads,
      stats: { loss, mse, l1, l0, totalVariance, sse: sse as tf.Scalar, firedCounts, ...(threshold ? { threshold } : {}) },
    };
  });
}

/** a + b per parameter. */
export function addGradients(a: SaeGradients, b: SaeGradients): SaeGradients {
  return tf.tidy(() => ({
    W_enc: tf.add(a.W_enc, b.W_enc) as tf.Tensor2D,
    b_enc: tf.add(a.b_enc, b.b_enc) as tf.Tensor1D,
    W_dec: tf.add(a.W_dec, b.W_dec) as tf.Tensor2D,
    b_dec: tf.add(a.b_dec, b.b_dec) as tf.Tensor1D,
  }));
}

/**
 * Sums over the rows of M, as the plain product ones [1, rows] x M: tfjs reduces along axis 0 by
 * transposing first, which on wasm is ~50x slower than this product (PERF.md).
 * M [rows, k], ones [1, rows] -> [k]
 */
export function columnSums(M: tf.Tensor2D, ones?: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.reshape(tf.matMul(ones ?? tf.ones([1, M.shape[0]]), M), [-1]) as tf.Tensor1D);
}

/** The same loss as a scalar tensor function (for autodiff checks and reference implementations). */
export function lossValue(sae: SaeTensors, x: tf.Tensor2D, l1Coefficient: number, penalty: SparsityPenalty): tf.Scalar {
  return tf.tidy(() => {
    const B = x.shape[0];
    const f = tf.relu(tf.add(tf.matMul(tf.sub(x, sae.b_dec), sae.W_enc), sae.b_enc));
    const xHat = tf.add(tf.matMul(f, sae.W_dec), sae.b_dec);
    const mse = tf.div(tf.sum(tf.square(tf.sub(xHat, x))), B);
    const fSum = tf.sum(f, 0);
    const sp = penalty === 'l1-decoder-norm' ? tf.sum(tf.mul(fSum, tf.norm(sae.W_dec, 'euclidean', 1))) : tf.sum(fSum);
    return tf.add(mse, tf.mul(tf.div(sp, B), l1Coefficient)) as tf.Scalar;
  });
}
