import type { Config } from '../config/schema.js';

/** JumpReLU's sparsity penalty (sae.jumprelu.penalty). */
export type JumpReluPenalty = 'step' | 'tanh' | 'target-l0';

/**
 * Defaults of sae.jumprelu (the schema's field descriptions cite where each comes from). The
 * coefficients depend on the scale of the data, like relu's sae.l1: these are tuned on the
 * stories260k layer-2 activations (configs/stories260k-jumprelu.json).
 */
export const JUMPRELU_DEFAULTS = {
  penalty: 'step' as JumpReluPenalty,
  l0Coefficient: { step: 0.02, tanh: 0.02, 'target-l0': 1 } as Record<JumpReluPenalty, number>,
  targetL0: 20,
  bandwidth: 0.05,
  initialThreshold: 0.5,
  tanhScale: 4,
  warmupSteps: 0,
};

/** The jumprelu architecture resolved (written into run.json as `architecture`). */
export interface ResolvedJumpRelu {
  name: 'jumprelu';
  penalty: JumpReluPenalty;
  /** lambda, the weight of the sparsity penalty after its warm-up. */
  l0Coefficient: number;
  /** 'target-l0' only (null otherwise). */
  targetL0: number | null;
  /** Width epsilon of the rectangle kernel K((pre - theta) / epsilon) of the straight-through gradient. */
  bandwidth: number;
  /** theta of every feature at step 0. */
  initialThreshold: number;
  /** 'tanh' only (null otherwise). */
  tanhScale: number | null;
  /** l0Coefficient warms up linearly from 0 over these steps. */
  warmupSteps: number;
}

export function resolveJumpRelu(j: Config['sae']['jumprelu']): ResolvedJumpRelu {
  const penalty = j?.penalty ?? JUMPRELU_DEFAULTS.penalty;
  return {
    name: 'jumprelu',
    penalty,
    l0Coefficient: j?.l0Coefficient ?? JUMPRELU_DEFAULTS.l0Coefficient[penalty],
    targetL0: penalty === 'target-l0' ? (j?.targetL0 ?? JUMPRELU_DEFAULTS.targetL0) : null,
    bandwidth: j?.bandwidth ?? JUMPRELU_DEFAULTS.bandwidth,
    initialThreshold: j?.initialThreshold ?? JUMPRELU_DEFAULTS.initialThreshold,
    tanhScale: penalty === 'tanh' ? (j?.tanhScale ?? JUMPRELU_DEFAULTS.tanhScale) : null,
    warmupSteps: j?.warmupSteps ?? JUMPRELU_DEFAULTS.warmupSteps,
  };
}
