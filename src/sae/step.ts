import * as tf from '@tensorflow/tfjs';
import type { AdamHyper, AdamState } from '../train/adam.js';
import type { PhaseTimer } from './kernels/phase-timer.js';
import { lossAndGradients, type SaeGradients, type StepStats } from './gradients.js';
import { PARAM_NAMES, type SaeParams } from './params.js';

export type Recipe = 'towards-monosemanticity' | 'april-update';

/** Everything one optimizer step needs besides the data. */
export interface StepConfig {
  recipe: Recipe;
  lr: number;
  l1Coefficient: number;
  /** Clip the global gradient norm to this value (undefined: no clipping). */
  gradClip: number | undefined;
  adam: AdamHyper;
}

/**
 * Remove from each decoder row's gradient its component along the (unit-norm) row, so the step
 * moves tangentially to the unit sphere (Towards Monosemanticity, "Autoencoder" appendix).
 * gW_dec [m, d], W_dec [m, d] -> [m, d]
 */
export function projectDecoderGradient(gW_dec: tf.Tensor2D, W_dec: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const along = tf.sum(tf.mul(gW_dec, W_dec), 1, true); // [m, 1]
    return tf.sub(gW_dec, tf.mul(along, W_dec)) as tf.Tensor2D;
  });
}

/** W_dec [m, d] with every row scaled to unit L2 norm. */
export function unitRows(W: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(W, tf.maximum(tf.norm(W, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D);
}

/** Scale all gradients by min(1, maxNorm / ||g||_global). */
export function clipGlobalNorm(grads: SaeGradients, maxNorm: number): SaeGradients {
  return tf.tidy(() => {
    const sq = PARAM_NAMES.map((n) => tf.sum(tf.square(grads[n])));
    const norm = tf.sqrt(tf.addN(sq));
    const scale = tf.minimum(tf.div(maxNorm, tf.maximum(norm, 1e-12)), 1);
    return {
      W_enc: tf.mul(grads.W_enc, scale) as tf.Tensor2D,
      b_enc: tf.mul(grads.b_enc, scale) as tf.Tensor1D,
      W_dec: tf.mul(grads.W_dec, scale) as tf.Tensor2D,
      b_dec: tf.mul(grads.b_dec, scale) as tf.Tensor1D,
    };
  });
}

/**
 * One optimizer step on batch x [B, d], the dense reference formulation: exact gradients,
 * the recipe's decoder constraint, Adam. Updates params and adam in place; returns the step's
 * statistics as tensors (the caller disposes them, reading back only when it logs).
 */
export function denseTrainStep(
  params: SaeParams,
  adam: AdamState,
  x: tf.Tensor2D,
  cfg: StepConfig,
  timer?: PhaseTimer,
): StepStats {
  const { grads, stats } = lossAndGradients(
    params,
    x,
    cfg.l1Coefficient,
    cfg.recipe === 'april-update' ? 'l1-decoder-norm' : 'l1',
    timer,
  );
  applyGradients(params, adam, grads, cfg);
  timer?.lap('optimizer');
  return stats;
}

/** The recipe's gradient processing, the Adam update and the decoder renormalisation. Disposes grads. */
export function applyGradients(params: SaeParams, adam: AdamState, grads: SaeGradients, cfg: StepConfig): void {
  let g = grads;
  if (cfg.recipe === 'towards-monosemanticity') {
    const projected = projectDecoderGradient(g.W_dec, params.W_dec);
    g.W_dec.dispose();
    g = { ...g, W_dec: projected };
  }
  if (cfg.gradClip !== undefined) {
    const clipped = clipGlobalNorm(g, cfg.gradClip);
    for (const n of PARAM_NAMES) g[n].dispose();
    g = clipped;
  }
  adam.tick();
  for (const n of PARAM_NAMES) adam.update(n, params.get(n), g[n], cfg.lr, cfg.adam);
  for (const n of PARAM_NAMES) g[n].dispose();
  if (cfg.recipe === 'towards-monosemanticity') {
    const renorm = unitRows(params.W_dec);
    params.W_dec.assign(renorm);
    renorm.dispose();
  }
}

/** Dispose every tensor of a StepStats. */
export function disposeStats(s: StepStats): void {
  s.loss.dispose();
  s.mse.dispose();
  s.l1.dispose();
  s.l0.dispose();
  s.totalVariance.dispose();
  s.sse.dispose();
  s.firedCounts.dispose();
}
