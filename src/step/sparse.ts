import * as tf from '../backend/tfjs.js';
import type { AdamState } from './adam.js';
import type { StepStats } from '../sae/gradients.js';
import { hostView, tensorFromHost } from './kernels/host-io.js';
import type { PhaseTimer } from '../util/phase-timer.js';
import type { SaeParams } from '../sae/params.js';
import { SparseWorkspace, sparseBackward, type SparseResult } from './sparse-gradients.js';
import { applyGradients, type StepConfig } from './dense.js';
import { hostRowThresholds } from '../sae/activation.js';
import { auxKLossAndGradients } from '../sae/auxk.js';
import { addGradients, type SaeGradients } from '../sae/gradients.js';
import { InternalError } from '../errors.js';

/** A training step that also reports the batch's L0 on the host (for kernel selection). */
export interface HostL0Step {
  (params: SaeParams, adam: AdamState, x: tf.Tensor2D, cfg: StepConfig, timer?: PhaseTimer): StepStats;
  /** Mean active features per row of the last batch (NaN before the first step). */
  lastL0(): number;
}

/**
 * The sparse training step: the encoder product is dense (tfjs, plain layout); the decoder, the
 * residual's gradient and both weight gradients run on the host over the active entries of f
 * only (sparse-gradients.ts; jumprelu's thresholds too, kernels/jumprelu-loops.ts). Then the same recipe constraint and Adam update as denseTrainStep.
 * Equivalent to denseTrainStep up to float32 summation order. Owns reusable host buffers.
 */
export function createSparseTrainStep(): HostL0Step {
  const ws = new SparseWorkspace();
  let rowThreshold = new Float32Array(0);
  let l0 = Number.NaN;
  const step = (params: SaeParams, adam: AdamState, x: tf.Tensor2D, cfg: StepConfig, timer?: PhaseTimer): StepStats => {
    const [B, d] = x.shape;
    const m = params.m;
    // Pre-activations; the ReLU is applied by the host scan (f = pre where pre > 0), saving a pass.
    const f = tf.tidy(() => tf.fused.matMul({ a: tf.sub(x, params.b_dec), b: params.W_enc, bias: params.b_enc }) as tf.Tensor2D);
    timer?.lap('encode');
    const act = cfg.arch?.activation ?? { kind: 'relu' };
    const jr = cfg.arch?.jumprelu;
    if (jr && !params.log_threshold) throw new InternalError('a jumprelu step reached an SAE without log_threshold');
    if (act.kind !== 'relu' && rowThreshold.length < B) rowThreshold = new Float32Array(B);
    let r: SparseResult;
    try {
      // No tfjs allocation between taking the views and the end of sparseBackward (see hostView).
      if (act.kind !== 'relu') hostRowThresholds(hostView(f), B, m, act, rowThreshold);
      r = sparseBackward(ws, {
        B,
        d,
        m,
        x: hostView(x),
        f: hostView(f),
        W_enc: hostView(params.W_enc),
        W_dec: hostView(params.W_dec),
        b_dec: hostView(params.b_dec),
        l1Coefficient: cfg.l1Coefficient,
        penalty: cfg.recipe.sparsityPenalty,
        ...(act.kind !== 'relu' ? { rowThreshold } : {}),
        ...(jr ? { jumprelu: { step: jr, logThreshold: hostView(params.log_threshold!) } } : {}),
      }, timer);
    } finally {
      f.dispose();
    }
    l0 = r.l0;
    let grads: SaeGradients = {
      W_enc: tensorFromHost<tf.Rank.R2>(r.W_enc, [d, m]),
      b_enc: tensorFromHost<tf.Rank.R1>(r.b_enc, [m]),
      W_dec: tensorFromHost<tf.Rank.R2>(r.W_dec, [m, d]),
      b_dec: tensorFromHost<tf.Rank.R1>(r.b_dec, [d]),
      ...(r.log_threshold ? { log_threshold: tensorFromHost<tf.Rank.R1>(r.log_threshold, [m]) } : {}),
    };
    let auxLoss = 0;
    const auxK = cfg.arch?.auxK;
    if (auxK && auxK.dead.length > 0) {
      // AuxK on the dead latents (sae/auxk.ts), from the residual e = x - x_hat = -(B/2) G.
      const xc = tf.sub(x, params.b_dec) as tf.Tensor2D;
      const residual = tf.tidy(() => tf.mul(tensorFromHost<tf.Rank.R2>(ws.G, [B, d]), -B / 2) as tf.Tensor2D);
      const aux = auxKLossAndGradients(params, xc, residual, auxK);
      xc.dispose();
      residual.dispose();
      auxLoss = aux.loss.dataSync()[0]!;
      const sum = addGradients(grads, aux.grads);
      for (const g of [grads, aux.grads]) for (const t of Object.values(g)) (t as tf.Tensor).dispose();
      aux.loss.dispose();
      grads = sum;
    }
    const stats: StepStats = {
      loss: tf.scalar(r.loss + auxLoss),
      mse: tf.scalar(r.mse),
      l1: tf.scalar(r.l1),
      l0: tf.scalar(r.l0),
      totalVariance: tf.scalar(r.totalVariance),
      sse: tf.scalar(r.sse),
      firedCounts: tensorFromHost<tf.Rank.R1>(r.firedCounts, [m]),
      ...(act.kind === 'batchtopk' ? { threshold: tf.scalar(rowThreshold[0]!) } : {}),
    };
    timer?.lap('bookkeeping');
    applyGradients(params, adam, grads, cfg);
    timer?.lap('optimizer');
    return stats;
  };
  return Object.assign(step, { lastL0: () => l0 });
}
