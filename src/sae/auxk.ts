import * as tf from '../backend/tfjs.js';
import { activate } from './activation.js';
import type { SaeTensors } from './forward.js';

/** The AuxK loss of one step: which latents are dead and how they reconstruct. */
export interface AuxKStep {
  /** Indices of the dead latents (distinct, ascending). */
  dead: Int32Array;
  /** Dead latents kept per row (k_aux). */
  k: number;
  coefficient: number;
}

/**
 * The AuxK auxiliary loss (Gao et al. 2024, section 2.4; OpenAI's sparse_autoencoder and
 * sparsify) and its gradients. The dead latents alone, through their own TopK(k_aux), reconstruct
 * the residual e = x - x_hat of the main reconstruction:
 *   e_hat = TopK_kaux(pre[:, dead]) W_dec[dead]      (no decoder bias: e already excludes it)
 *   L_aux = coefficient * ||e_hat - e||^2 / ||e - mean(e)||^2   (summed over the batch)
 * e is a constant (detached, as in OpenAI's implementation), so only the dead latents' encoder
 * columns, biases and decoder rows, and b_dec through the encoder input, get gradients.
 * xc [B, d] = x - b_dec, residual [B, d] = x - x_hat -> gradients in the parameters' shapes.
 */
export function auxKLossAndGradients(
  sae: SaeTensors,
  xc: tf.Tensor2D,
  residual: tf.Tensor2D,
  aux: AuxKStep,
): { loss: tf.Scalar; grads: { W_enc: tf.Tensor2D; b_enc: tf.Tensor1D; W_dec: tf.Tensor2D; b_dec: tf.Tensor1D } } {
  return tf.tidy(() => {
    const d = xc.shape[1];
    const m = sae.W_enc.shape[1];
    const nd = aux.dead.length;
    const idx = tf.tensor1d(aux.dead, 'int32');
    const Wd = tf.gather(sae.W_enc, idx, 1) as tf.Tensor2D; // [d, nd]
    const WdecD = tf.gather(sae.W_dec, idx, 0) as tf.Tensor2D; // [nd, d]
    const pre = tf.add(tf.matMul(xc, Wd), tf.gather(sae.b_enc, idx)) as tf.Tensor2D;
    const f = activate(pre, { kind: 'topk', k: Math.min(aux.k, nd) });
    const r = tf.sub(tf.matMul(f, WdecD), residual) as tf.Tensor2D; // e_hat - e
    const mean = tf.mean(residual, 0);
    const tv = tf.maximum(tf.sum(tf.square(tf.sub(residual, mean))), 1e-12);
    const loss = tf.div(tf.mul(tf.sum(tf.square(r)), aux.coefficient), tv) as tf.Scalar;
    const g = tf.div(tf.mul(r, 2 * aux.coefficient), tv) as tf.Tensor2D; // dL/de_hat
    const gWdecD = tf.matMul(f, g, true, false); // [nd, d]
    const gPre = tf.mul(tf.matMul(g, WdecD, false, true), tf.step(f)) as tf.Tensor2D; // [B, nd]
    const gWd = tf.matMul(xc, gPre, true, false); // [d, nd]
    const gbd = tf.sum(gPre, 0) as tf.Tensor1D; // [nd]
    const rows = tf.reshape(idx, [nd, 1]);
    return {
      loss,
      grads: {
        W_enc: tf.transpose(tf.scatterND(rows, tf.transpose(gWd), [m, d])) as tf.Tensor2D,
        b_enc: tf.scatterND(rows, gbd, [m]) as tf.Tensor1D,
        W_dec: tf.scatterND(rows, gWdecD, [m, d]) as tf.Tensor2D,
        b_dec: tf.neg(tf.reshape(tf.matMul(Wd, tf.reshape(gbd, [nd, 1])), [d])) as tf.Tensor1D,
      },
    };
  });
}
