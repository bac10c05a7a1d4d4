import { ConfigError } from '../errors.js';
import type { Config } from './schema.js';

/** Default k of topk/batchtopk: sparsify's default (`k = 32`). */
export const DEFAULT_K = 32;

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

