/**
 * JumpReLU training (Rajamanoharan et al. 2024, "Jumping Ahead: Improving Reconstruction Fidelity
 * with JumpReLU Sparse Autoencoders"; Anthropic, "Circuits Updates - January 2025"):
 *
 *   xc = x - b_dec;  pre = xc W_enc + b_enc;  theta = exp(log_threshold)  [m]
 *   f = pre * H(pre - theta);  x_hat = f W_dec + b_dec
 *   L = (1/B) sum_b ||x_hat_b - x_b||^2 + lambda * S
 *   S = L0 = (1/B) sum_b sum_i H(pre_bi - theta_i)               'step'
 *     = (L0 / target - 1)^2                                       'target-l0'
 *     = (1/B) sum_b sum_i tanh(c f_bi ||W_dec_i||)                'tanh'
 *
 * H has no useful derivative, so theta's gradient is the straight-through estimator of the paper
 * (section 4), with the rectangle kernel K(u) = 1 for |u| < 1/2 and bandwidth epsilon:
 *   d f_bi / d theta_i  ~ -(theta_i / epsilon) K((pre_bi - theta_i) / epsilon)
 *   d H_bi / d theta_i  ~ -(1 / epsilon) K((pre_bi - theta_i) / epsilon)
 * and pre gets only the exact d f / d pre = H(pre - theta) (no gradient through the L0 term), as
 * in SAELens' JumpReLU/Step functions and dictionary_learning's JumpReLUFunction/StepFunction.
 * The statistics' `l1` holds the sparsity term S. The trained parameter is log_threshold (SAELens; the paper's Gemma Scope code): dL/dlog = theta dL/dtheta.
 */
import * as tf from '../backend/tfjs.js';
import type { SaeTensors } from './forward.js';
import type { JumpReluPenalty, ResolvedJumpRelu } from './jumprelu-config.js';
import type { SaeGradients, StepStats } from './step-records.js';

/** JumpReLU's part of one step's config. */
export interface JumpReluStep {
  penalty: JumpReluPenalty;
  /** lambda at this step (after the warm-up). */
  coefficient: number;
  bandwidth: number;
  /** 'target-l0' only. */
  targetL0: number | null;
  /** 'tanh' only. */
  tanhScale: number | null;
}

/** The step's JumpReLU config at `step` (1-based): lambda warms up linearly over warmupSteps. */
export function jumpReluStep(a: ResolvedJumpRelu, step: number): JumpReluStep {
  const warm = a.warmupSteps > 0 && step <= a.warmupSteps ? step / a.warmupSteps : 1;
  return { penalty: a.penalty, coefficient: a.l0Coefficient * warm, bandwidth: a.bandwidth, targetL0: a.targetL0, tanhScale: a.tanhScale };
}

/** The parameters JumpReLU trains: the SAE's four and log_threshold [m]. */
export type JumpReluTensors = SaeTensors & { log_threshold: tf.Tensor1D };

/** The gradients of the five parameters. */
export type JumpReluGradients = SaeGradients & { log_threshold: tf.Tensor1D };

/** Sums over the rows: ones [1, rows] x M (the plain layout; see gradients.ts columnSums). */
function colSums(M: tf.Tensor2D, ones: tf.Tensor2D): tf.Tensor1D {
  return tf.reshape(tf.matMul(ones, M), [-1]) as tf.Tensor1D;
}

/** Loss, straight-through gradients and statistics of one batch x [B, d] (see the file comment). */
export function jumpReluLossAndGradients(sae: JumpReluTensors, x: tf.Tensor2D, j: JumpReluStep): { grads: JumpReluGradients; stats: StepStats } {
  return tf.tidy(() => {
    const B = x.shape[0];
    const eps = j.bandwidth;
    const lambda = j.coefficient;
    const ones = tf.ones([1, B]) as tf.Tensor2D;
    const xc = tf.sub(x, sae.b_dec) as tf.Tensor2D;
    const pre = tf.add(tf.matMul(xc, sae.W_enc), sae.b_enc) as tf.Tensor2D;
    const theta = tf.exp(sae.log_threshold) as tf.Tensor1D;
    const gap = tf.sub(pre, theta) as tf.Tensor2D;
    // step(v) = v > 0 ? 1 : 0: active iff pre > theta, as the inference activation (activation.ts).
    const mask = tf.step(gap) as tf.Tensor2D;
    const kernel = tf.cast(tf.less(tf.abs(gap), eps / 2), 'float32') as tf.Tensor2D;
    const f = tf.mul(pre, mask) as tf.Tensor2D;
    const xHat = tf.add(tf.matMul(f, sae.W_dec), sae.b_dec);
    const e = tf.sub(xHat, x) as tf.Tensor2D;
    const sse = tf.sum(tf.square(e)) as tf.Scalar;
    const mse = tf.div(sse, B) as tf.Scalar;
    const firedCounts = colSums(mask, ones);
    const l0 = tf.div(tf.sum(firedCounts), B) as tf.Scalar;

    const g = tf.mul(e, 2 / B) as tf.Tensor2D; // dL/dx_hat
    let dF = tf.matMul(g, tf.transpose(sae.W_dec)) as tf.Tensor2D; // dL/df [B, m]
    const kernelSums = colSums(kernel, ones); // [m]: rows within epsilon/2 of each threshold
    let sparsity: tf.Scalar;
    let dTheta: tf.Tensor1D = tf.zerosLike(theta); // dL/dtheta from the L0 terms
    let dDecNorm: tf.Tensor1D | null = null; // dL/d||W_dec_i|| ('tanh')
    let decNorm: tf.Tensor1D | null = null;
    if (j.penalty === 'tanh') {
      const c = j.tanhScale!;
      decNorm = tf.norm(sae.W_dec, 'euclidean', 1) as tf.Tensor1D;
      const t = tf.tanh(tf.mul(tf.mul(f, decNorm), c)) as tf.Tensor2D;
      sparsity = tf.div(tf.sum(t), B) as tf.Scalar;
      const sech2 = tf.sub(1, tf.square(t)) as tf.Tensor2D; // tanh' = 1 - tanh^2
      // dS/df = c ||W_dec_i|| (1 - t^2) / B;  dS/d||W_dec_i|| = sum_b c f (1 - t^2) / B
      dF = tf.add(dF, tf.mul(tf.mul(sech2, decNorm), (lambda * c) / B)) as tf.Tensor2D;
      dDecNorm = tf.mul(colSums(tf.mul(f, sech2) as tf.Tensor2D, ones), (lambda * c) / B) as tf.Tensor1D;
    } else if (j.penalty === 'step') {
      sparsity = l0;
      dTheta = tf.mul(kernelSums, -lambda / (eps * B)) as tf.Tensor1D;
    } else {
      const target = j.targetL0!;
      const r = tf.sub(tf.div(l0, target), 1);
      sparsity = tf.square(r) as tf.Scalar;
      // d(L0/T - 1)^2/dtheta = 2 (L0/T - 1) / T * dL0/dtheta
      dTheta = tf.mul(kernelSums, tf.mul(r, (-2 * lambda) / (target * eps * B))) as tf.Tensor1D;
    }
    const loss = tf.add(mse, tf.mul(sparsity, lambda)) as tf.Scalar;

    const gPre = tf.mul(dF, mask) as tf.Tensor2D;
    // Through f: sum_b dF_bi * -(theta_i / epsilon) K_bi
    const dThetaF = tf.mul(colSums(tf.mul(dF, kernel) as tf.Tensor2D, ones), tf.div(theta, -eps));
    const gLogThreshold = tf.mul(theta, tf.add(dThetaF, dTheta)) as tf.Tensor1D;

    const gW_enc = tf.matMul(tf.transpose(xc), gPre) as tf.Tensor2D;
    const gPreSum = colSums(gPre, ones);
    let gW_dec = tf.transpose(tf.matMul(tf.transpose(g), f)) as tf.Tensor2D;
    if (dDecNorm && decNorm) {
      gW_dec = tf.add(gW_dec, tf.mul(sae.W_dec, tf.expandDims(tf.div(dDecNorm, tf.maximum(decNorm, 1e-12)), 1))) as tf.Tensor2D;
    }
    const gb_dec = tf.sub(colSums(g, ones), tf.reshape(tf.matMul(sae.W_enc, tf.reshape(gPreSum, [-1, 1])), [-1])) as tf.Tensor1D;

    const mean = tf.div(colSums(x, ones), B);
    const totalVariance = tf.sum(tf.square(tf.sub(x, mean))) as tf.Scalar;
    return {
      grads: { W_enc: gW_enc, b_enc: gPreSum, W_dec: gW_dec, b_dec: gb_dec, log_threshold: gLogThreshold },
      stats: { loss, mse, l1: sparsity, l0, totalVariance, sse, firedCounts },
    };
  });
}
