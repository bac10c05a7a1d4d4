/**
 * The records one training step produces, shared by every loss (gradients.ts, jumprelu.ts, auxk.ts)
 * and every step formulation (src/step/).
 */
import type * as tf from '../backend/tfjs.js';

/** Gradients of the loss with respect to each parameter, canonical layout. */
export interface SaeGradients {
  /** [d, m] */
  W_enc: tf.Tensor2D;
  /** [m] */
  b_enc: tf.Tensor1D;
  /** [m, d] */
  W_dec: tf.Tensor2D;
  /** [d] */
  b_dec: tf.Tensor1D;
  /** [m], jumprelu only (its learned thresholds). */
  log_threshold?: tf.Tensor1D;
}

/** Scalars and per-feature counts of one forward/backward pass (tensors; read back lazily). */
export interface StepStats {
  /** loss = mse + l1Coefficient * l1 */
  loss: tf.Scalar;
  /** mean over rows of ||x - x_hat||^2 */
  mse: tf.Scalar;
  /** mean over rows of the sparsity term (sum_i f_i, or sum_i f_i ||W_dec_i||) */
  l1: tf.Scalar;
  /** mean over rows of the number of active features */
  l0: tf.Scalar;
  /** sum over rows of ||x - mean_batch(x)||^2 (for explained variance) */
  totalVariance: tf.Scalar;
  /** sum over rows of ||x - x_hat||^2 */
  sse: tf.Scalar;
  /** [m] number of rows in which each feature fired */
  firedCounts: tf.Tensor1D;
  /** batchtopk: the batch's selection threshold (the running inference threshold averages it). */
  threshold?: tf.Scalar;
}
