import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { Activation, StepActivation } from './activation.js';

/** An architecture's name, as the config spells it (`sae.architecture`). */
export type ArchitectureName = Config['sae']['architecture'];

/** Default k of topk/batchtopk: sparsify's default (`k = 32`). */
export const DEFAULT_K = 32;
/** AuxK coefficient, Gao et al. 2024 section 2.4 (sparsify: auxk_alpha = 1/32). */
export const DEFAULT_AUXK_COEFFICIENT = 1 / 32;
/** Tokens without firing after which a latent counts as dead (Gao et al.; sparsify: 10M). */
export const DEFAULT_DEAD_TOKENS = 10_000_000;
/** dictionary_learning's BatchTopK threshold_beta. */
export const DEFAULT_THRESHOLD_BETA = 0.999;

/** The AuxK loss, resolved (Gao et al. 2024, section 2.4). */
export interface ResolvedAuxK {
  /** Dead latents per row that reconstruct the residual (k_aux). */
  k: number;
  coefficient: number;
  /** A latent is dead after this many steps without firing (deadTokens / batch size). */
  deadSteps: number;
}

/**
 * An architecture resolved into explicit choices (written into run.json as `architecture`):
 * inner code reads these fields and never tests the config again.
 */
export type ResolvedArchitecture =
  | { name: 'relu' }
  | {
      name: 'topk' | 'batchtopk';
      k: number;
      /** k at step 1; equal to k when there is no annealing. */
      kStart: number;
      /** k reaches its final value at this step (0: no annealing). */
      kAnnealSteps: number;
      auxK: ResolvedAuxK | null;
      /** batchtopk: EMA decay of the inference threshold, averaged from step `thresholdFrom` on. */
      thresholdBeta: number;
      thresholdFrom: number;
    };

const SPARSITY_BY_K = ['k', 'kStart', 'kAnnealFraction', 'auxK'] as const;

/**
 * Cross-field checks of `sae.architecture` (validateConfig calls this once, after the schema),
 * then the defaults that depend on it: sae.l1 'auto' for relu, sae.k 32 for the others,
 * resample.enabled true for relu only. ConfigError naming the field otherwise.
 */
export function checkArchitectureFields(c: Config): void {
  const a = c.sae.architecture;
  const wrong: string[] = [];
  if (a === 'relu') {
    for (const f of SPARSITY_BY_K) if (c.sae[f] !== undefined) wrong.push(`sae.${f}`);
    if (c.sae.thresholdBeta !== undefined) wrong.push('sae.thresholdBeta');
  } else {
    if (c.sae.l1 !== undefined) wrong.push('sae.l1');
    if (c.train.l1WarmupSteps !== 0) wrong.push('train.l1WarmupSteps');
    if (a === 'topk' && c.sae.thresholdBeta !== undefined) wrong.push('sae.thresholdBeta');
  }
  if (wrong.length) {
    const belongs = a === 'relu' ? 'to topk/batchtopk (their sparsity is k)' : 'to relu (its sparsity is the L1 penalty)';
    throw new ConfigError(
      `${wrong.join(', ')}: ${wrong.length > 1 ? 'these settings belong' : 'this setting belongs'} ${belongs}, but sae.architecture is '${a}'.`,
      a === 'relu'
        ? `Remove ${wrong.join(', ')}, or set sae.architecture to 'topk' or 'batchtopk'.`
        : `Remove ${wrong.join(', ')} and set the sparsity with sae.k (e.g. --set sae.k=32), or set sae.architecture to 'relu'.`,
    );
  }
  if (a === 'relu') {
    c.sae.l1 ??= 'auto';
  } else {
    c.sae.k ??= DEFAULT_K;
    if (c.sae.kStart !== undefined && c.sae.kStart < c.sae.k) {
      throw new ConfigError(`sae.kStart = ${c.sae.kStart} is below sae.k = ${c.sae.k}: k anneals down from kStart to k.`, `Set sae.kStart above ${c.sae.k}, or remove it.`);
    }
  }
  c.resample.enabled ??= a === 'relu';
}

/** The run's architecture resolved against its dimensions (ConfigError when k does not fit the width). */
export function resolveArchitecture(
  sae: Config['sae'],
  run: { d: number; m: number; totalSteps: number; batchSize: number },
): ResolvedArchitecture {
  if (sae.architecture === 'relu') return { name: 'relu' };
  const k = sae.k ?? DEFAULT_K;
  const kStart = sae.kStart ?? k;
  for (const [field, v] of [['sae.k', k], ['sae.kStart', kStart]] as const) {
    if (v >= run.m) {
      throw new ConfigError(
        `${field} = ${v} is not below the dictionary width m = ${run.m}: ${sae.architecture} would keep every feature.`,
        `Give ${field} below ${run.m} (typically d/16 to d/2, here ${Math.max(1, Math.round(run.d / 16))} to ${Math.max(1, Math.round(run.d / 2))}), or widen the dictionary (sae.expansion / sae.width).`,
      );
    }
  }
  const aux: Partial<NonNullable<Config['sae']['auxK']>> = sae.auxK ?? {};
  const coefficient = aux.coefficient ?? DEFAULT_AUXK_COEFFICIENT;
  const runTokens = run.totalSteps * run.batchSize;
  const deadTokens = aux.deadTokens ?? Math.min(DEFAULT_DEAD_TOKENS, Math.max(run.batchSize, Math.floor(runTokens / 10)));
  return {
    name: sae.architecture,
    k,
    kStart,
    kAnnealSteps: kStart === k ? 0 : Math.max(1, Math.round((sae.kAnnealFraction ?? 0.1) * run.totalSteps)),
    auxK:
      coefficient > 0
        ? { k: Math.min(aux.k ?? Math.max(1, Math.floor(run.d / 2)), run.m), coefficient, deadSteps: Math.max(1, Math.ceil(deadTokens / run.batchSize)) }
        : null,
    thresholdBeta: sae.thresholdBeta ?? DEFAULT_THRESHOLD_BETA,
    thresholdFrom: Math.max(1, Math.floor(run.totalSteps / 2)),
  };
}

/**
 * The window (steps) after which a latent counts as dead in progress lines: AuxK's when it is on
 * and resampling is off (the latents it feeds), else resampling's.
 */
export function displayDeadWindow(a: ResolvedArchitecture, resampling: { enabled: boolean; deadWindow: number }): { steps: number; what: string } {
  if (a.name !== 'relu' && a.auxK && !resampling.enabled) return { steps: a.auxK.deadSteps, what: 'the AuxK window, sae.auxK.deadTokens' };
  return { steps: resampling.deadWindow, what: 'the resampling window' };
}

/** k at a step (1-based): linear from kStart down to k over the first kAnnealSteps steps, then k. */
export function kAt(a: Extract<ResolvedArchitecture, { k: number }>, step: number): number {
  if (a.kAnnealSteps === 0 || step >= a.kAnnealSteps) return a.k;
  return Math.round(a.kStart + ((a.k - a.kStart) * (step - 1)) / a.kAnnealSteps);
}

/** The selection the training step makes at `step`. */
export function stepActivation(a: ResolvedArchitecture, step: number): StepActivation {
  if (a.name === 'relu') return { kind: 'relu' };
  return { kind: a.name, k: kAt(a, step) };
}

/**
 * The running batchtopk threshold after a step whose selection threshold was `batch`
 * (dictionary_learning's BatchTopKTrainer: the first value starts the average, then EMA).
 */
export function nextThreshold(a: ResolvedArchitecture, step: number, current: number | null, batch: number): number | null {
  if (a.name !== 'batchtopk' || step < a.thresholdFrom || !Number.isFinite(batch)) return current;
  return current === null ? batch : a.thresholdBeta * current + (1 - a.thresholdBeta) * batch;
}

/**
 * The activation the trained dictionary uses at inference: ReLU, TopK(k), or for batchtopk a
 * JumpReLU at its running threshold (the same for every feature) — how SAELens and
 * dictionary_learning save a BatchTopK SAE.
 */
export function inferenceActivation(a: ResolvedArchitecture, m: number, threshold: number | null): Activation {
  if (a.name === 'relu') return { kind: 'relu' };
  if (a.name === 'topk') return { kind: 'topk', k: a.k };
  return { kind: 'jumprelu', threshold: new Float32Array(m).fill(Math.max(0, threshold ?? 0)) };
}
