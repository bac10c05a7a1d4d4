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
  initialThreshold: 'auto' as number | 'auto',
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
  /** theta of every feature at step 0, or 'auto': from the init sample, so that L0 starts at initialL0 (jumprelu-init.ts). */
  initialThreshold: number | 'auto';
  /** 'auto' only (null otherwise): the L0 the thresholds give on the init sample at step 0. */
  initialL0: number | null;
  /** 'tanh' only (null otherwise). */
  tanhScale: number | null;
  /** l0Coefficient warms up linearly from 0 over these steps. */
  warmupSteps: number;
}

/**
 * sae.jumprelu with its defaults. With the width m, the default initialL0 is capped at m / 4 (a
 * tiny dictionary); without it (the bench) it is not.
 */
export function resolveJumpRelu(j: Config['sae']['jumprelu'], m?: number): ResolvedJumpRelu {
  const penalty = j?.penalty ?? JUMPRELU_DEFAULTS.penalty;
  const targetL0 = penalty === 'target-l0' ? (j?.targetL0 ?? JUMPRELU_DEFAULTS.targetL0) : null;
  const initialThreshold = j?.initialThreshold ?? JUMPRELU_DEFAULTS.initialThreshold;
  return {
    name: 'jumprelu',
    penalty,
    l0Coefficient: j?.l0Coefficient ?? JUMPRELU_DEFAULTS.l0Coefficient[penalty],
    targetL0,
    bandwidth: j?.bandwidth ?? JUMPRELU_DEFAULTS.bandwidth,
    initialThreshold,
    initialL0: initialThreshold === 'auto' ? (j?.initialL0 ?? targetL0 ?? defaultInitialL0(m)) : null,
    tanhScale: penalty === 'tanh' ? (j?.tanhScale ?? JUMPRELU_DEFAULTS.tanhScale) : null,
    warmupSteps: j?.warmupSteps ?? JUMPRELU_DEFAULTS.warmupSteps,
  };
}

function defaultInitialL0(m: number | undefined): number {
  return m === undefined ? JUMPRELU_DEFAULTS.targetL0 : Math.min(JUMPRELU_DEFAULTS.targetL0, Math.max(1, Math.floor(m / 4)));
}
