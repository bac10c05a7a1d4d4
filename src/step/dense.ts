/**
 * The reference training step: exact dense gradients (sae/gradients.ts), the recipe's decoder
 * constraint and clipping, one Adam update. Every other formulation in src/step/ is an
 * optimisation of this one and is checked against it (test/step/equivalence.test.ts); change the
 * algorithm here first. Note that training on the CPU runs the worker formulation (workers/), not
 * this file, unless `train.workers` is 0 (its 'auto' is 0 only on tfjs-node): see engine.ts.
 */
import * as tf from '../backend/tfjs.js';
import type { PhaseTimer } from '../util/phase-timer.js';
import { InternalError } from '../errors.js';
import { lossAndGradients, type SaeGradients, type StepArchitecture, type StepStats } from '../sae/gradients.js';
import { PARAM_NAMES, type SaeParams } from '../sae/params.js';
import type { ResolvedRecipe } from '../sae/recipe.js';
import type { AdamHyper, AdamState } from './adam.js';
import { clipGlobalNorm } from './clip.js';
import { projectDecoderGradient, unitRows } from './decoder-constraint.js';

/** The parts of a resolved recipe (sae/recipe.ts) the step applies. */
export type StepRecipe = Pick<ResolvedRecipe, 'sparsityPenalty' | 'decoderConstraint' | 'gradClip'>;

/** Everything one optimizer step needs besides the data. */
export interface StepConfig {
  recipe: StepRecipe;
  lr: number;
  l1Coefficient: number;
  adam: AdamHyper;
  /** The architecture's selection and AuxK loss for this step (architecture.ts); absent: ReLU. */
  arch?: StepArchitecture;
}

/**
 * One optimizer step on batch x [B, d]. Updates params and adam in place; returns the step's
 * statistics as tensors (the caller disposes them, reading back only when it logs).
 */
export function denseTrainStep(params: SaeParams, adam: AdamState, x: tf.Tensor2D, cfg: StepConfig, timer?: PhaseTimer): StepStats {
  const { grads, stats } = lossAndGradients(params, x, cfg.l1Coefficient, cfg.recipe.sparsityPenalty, timer, cfg.arch);
  applyGradients(params, adam, grads, cfg);
  timer?.lap('optimizer');
  return stats;
}

/** The recipe's gradient processing, the Adam update and the decoder renormalisation. Disposes grads. */
export function applyGradients(params: SaeParams, adam: AdamState, grads: SaeGradients, cfg: StepConfig): void {
  const unitNorm = cfg.recipe.decoderConstraint === 'unit-norm';
  let g = grads;
  if (unitNorm) {
    const projected = projectDecoderGradient(g.W_dec, params.W_dec);
    g.W_dec.dispose();
    g = { ...g, W_dec: projected };
  }
  if (cfg.recipe.gradClip !== null) {
    const clipped = clipGlobalNorm(g, cfg.recipe.gradClip);
    for (const n of PARAM_NAMES) g[n].dispose();
    g.log_threshold?.dispose();
    g = clipped;
  }
  adam.tick();
  for (const n of PARAM_NAMES) adam.update(n, params.get(n), g[n], cfg.lr, cfg.adam);
  // jumprelu: its thresholds are a fifth parameter, with their own moments (AdamState names()).
  if (g.log_threshold) {
    if (!params.log_threshold) throw new InternalError('a log_threshold gradient for an SAE without log_threshold');
    adam.update('log_threshold', params.log_threshold, g.log_threshold, cfg.lr, cfg.adam);
  }
  for (const n of PARAM_NAMES) g[n].dispose();
  g.log_threshold?.dispose();
  if (unitNorm) {
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
  s.threshold?.dispose();
}
