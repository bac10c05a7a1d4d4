import type { Config } from '../config/schema.js';
import { DEFAULT_K } from '../config/architecture-fields.js';
import { ConfigError, InternalError } from '../errors.js';
import type { Activation, StepActivation } from './activation.js';
import { resolveJumpRelu, type ResolvedJumpRelu } from './jumprelu-config.js';

/** An architecture's name, as the config spells it (`sae.architecture`). */
export type ArchitectureName = Config['sae']['architecture'];

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
    }
  | ResolvedJumpRelu;

/** The architectures whose sparsity is k (topk, batchtopk). */
export type KArchitecture = Extract<ResolvedArchitecture, { k: number }>;

/** The run's architecture resolved against its dimensions (ConfigError when k does not fit the width). */
export function resolveArchitecture(
  sae: Config['sae'],
  run: { d: number; m: number; totalSteps: number; batchSize: number },
): ResolvedArchitecture {
  if (sae.architecture === 'relu') return { name: 'relu' };
  if (sae.architecture === 'jumprelu') {
    const a = resolveJumpRelu(sae.jumprelu, run.m);
    for (const [field, v] of [['sae.jumprelu.targetL0', a.targetL0], ['sae.jumprelu.initialL0', a.initialL0]] as const) {
      if (v !== null && v >= run.m) {
        throw new ConfigError(
          `${field} = ${v} is not below the dictionary width m = ${run.m}: no L0 can reach it.`,
          `Give ${field} below ${run.m} (typically d/16 to d/2, here ${Math.max(1, Math.round(run.d / 16))} to ${Math.max(1, Math.round(run.d / 2))}), or widen the dictionary (sae.expansion / sae.width).`,
        );
      }
    }
    return a;
  }
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
  if ('auxK' in a && a.auxK && !resampling.enabled) return { steps: a.auxK.deadSteps, what: 'the AuxK window, sae.auxK.deadTokens' };
  return { steps: resampling.deadWindow, what: 'the resampling window' };
}

/** k at a step (1-based): linear from kStart down to k over the first kAnnealSteps steps, then k. */
export function kAt(a: KArchitecture, step: number): number {
  if (a.kAnnealSteps === 0 || step >= a.kAnnealSteps) return a.k;
  return Math.round(a.kStart + ((a.k - a.kStart) * (step - 1)) / a.kAnnealSteps);
}

/** The selection the training step makes at `step`. */
export function stepActivation(a: ResolvedArchitecture, step: number): StepActivation {
  // jumprelu: ReLU, then the learned thresholds (params.log_threshold; sae/jumprelu.ts).
  if (a.name === 'relu' || a.name === 'jumprelu') return { kind: 'relu' };
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
 * The activation the trained dictionary uses at inference: ReLU, TopK(k), for batchtopk a
 * JumpReLU at its running threshold (the same for every feature) — how SAELens and
 * dictionary_learning save a BatchTopK SAE — and for jumprelu its learned thresholds
 * exp(log_threshold) [m] (`logThreshold`, the trained parameter).
 */
export function inferenceActivation(a: ResolvedArchitecture, m: number, threshold: number | null, logThreshold?: Float32Array): Activation {
  if (a.name === 'relu') return { kind: 'relu' };
  if (a.name === 'topk') return { kind: 'topk', k: a.k };
  if (a.name === 'jumprelu') {
    if (!logThreshold || logThreshold.length !== m) throw new InternalError(`jumprelu: no log_threshold [${m}] to build the inference activation from`);
    return { kind: 'jumprelu', threshold: Float32Array.from(logThreshold, Math.exp) };
  }
  return { kind: 'jumprelu', threshold: new Float32Array(m).fill(Math.max(0, threshold ?? 0)) };
}

/**
 * jumprelu's log_threshold at step 0: every feature at initialThreshold, or with 'auto' at
 * `fromData` (jumprelu-init.ts, from the init sample); undefined for the others.
 */
export function initialLogThreshold(a: ResolvedArchitecture, m: number, fromData: Float32Array | null): Float32Array | undefined {
  if (a.name !== 'jumprelu') return undefined;
  if (a.initialThreshold === 'auto') {
    if (!fromData || fromData.length !== m) throw new InternalError(`jumprelu: initialThreshold 'auto' without the ${m} thresholds from the data`);
    return Float32Array.from(fromData, Math.log);
  }
  return new Float32Array(m).fill(Math.log(a.initialThreshold));
}
