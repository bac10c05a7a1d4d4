import { ConfigError } from '../errors.js';
import type { Config } from './schema.js';

/** Default k of topk/batchtopk: sparsify's default (`k = 32`). */
export const DEFAULT_K = 32;

const SPARSITY_BY_K = ['k', 'kStart', 'kAnnealFraction', 'auxK'] as const;

/** What each architecture's sparsity is, for the messages. */
const SPARSITY_OF: Record<Config['sae']['architecture'], string> = {
  relu: 'relu (its sparsity is the L1 penalty)',
  topk: 'topk/batchtopk (their sparsity is k)',
  batchtopk: 'topk/batchtopk (their sparsity is k)',
  jumprelu: 'jumprelu (its sparsity is the L0 penalty, sae.jumprelu)',
};

/**
 * Cross-field checks of `sae.architecture` (validateConfig calls this once, after the schema),
 * then the defaults that depend on it: sae.l1 'auto' for relu, sae.k 32 for topk/batchtopk,
 * resample.enabled true for relu only. ConfigError naming the field otherwise.
 */
export function checkArchitectureFields(c: Config): void {
  const a = c.sae.architecture;
  // Each wrong field with the architecture it belongs to.
  const wrong: [string, string][] = [];
  const byK = (f: string) => wrong.push([`sae.${f}`, SPARSITY_OF.topk]);
  if (a !== 'topk' && a !== 'batchtopk') for (const f of SPARSITY_BY_K) if (c.sae[f] !== undefined) byK(f);
  if (a !== 'batchtopk' && c.sae.thresholdBeta !== undefined) wrong.push(['sae.thresholdBeta', 'batchtopk (its inference threshold)']);
  if (a !== 'relu') {
    if (c.sae.l1 !== undefined) wrong.push(['sae.l1', SPARSITY_OF.relu]);
    if (c.train.l1WarmupSteps !== 0) wrong.push(['train.l1WarmupSteps', SPARSITY_OF.relu]);
  }
  if (a !== 'jumprelu' && c.sae.jumprelu !== undefined) wrong.push(['sae.jumprelu', SPARSITY_OF.jumprelu]);
  if (a !== 'topk' && a !== 'batchtopk' && c.sae.encoderInit !== undefined) wrong.push(['sae.encoderInit', 'topk/batchtopk (the scale of their encoder at step 0)']);
  if (wrong.length) {
    const names = wrong.map(([f]) => f).join(', ');
    const belongs = [...new Set(wrong.map(([, b]) => b))].join(' and ');
    const set: Record<typeof a, string> = {
      relu: 'set the sparsity with sae.l1',
      topk: 'set the sparsity with sae.k (e.g. --set sae.k=32)',
      batchtopk: 'set the sparsity with sae.k (e.g. --set sae.k=32)',
      jumprelu: 'set the sparsity with sae.jumprelu.l0Coefficient (or penalty target-l0 with sae.jumprelu.targetL0)',
    };
    throw new ConfigError(
      `${names}: ${wrong.length > 1 ? 'these settings belong' : 'this setting belongs'} to ${belongs}, but sae.architecture is '${a}'.`,
      `Remove ${names} and ${set[a]}, or set sae.architecture to the architecture ${wrong.length > 1 ? 'they belong' : 'it belongs'} to.`,
    );
  }
  if (a === 'topk' || a === 'batchtopk') {
    c.sae.k ??= DEFAULT_K;
    if (c.sae.kStart !== undefined && c.sae.kStart < c.sae.k) {
      throw new ConfigError(`sae.kStart = ${c.sae.kStart} is below sae.k = ${c.sae.k}: k anneals down from kStart to k.`, `Set sae.kStart above ${c.sae.k}, or remove it.`);
    }
  }
  if (a === 'jumprelu') checkJumpRelu(c);
  if (a === 'relu') c.sae.l1 ??= 'auto';
  c.resample.enabled ??= a === 'relu';
}

/** sae.jumprelu's fields that belong to one penalty only. */
function checkJumpRelu(c: Config): void {
  const j = c.sae.jumprelu;
  const penalty = j?.penalty ?? 'step';
  for (const [field, only] of [
    ['targetL0', 'target-l0'],
    ['tanhScale', 'tanh'],
  ] as const) {
    if (j?.[field] !== undefined && penalty !== only) {
      throw new ConfigError(
        `sae.jumprelu.${field} belongs to sae.jumprelu.penalty '${only}', but the penalty is '${penalty}'.`,
        `Remove sae.jumprelu.${field}, or set sae.jumprelu.penalty to '${only}'.`,
      );
    }
  }
  if (j?.initialL0 !== undefined && j.initialThreshold !== undefined && j.initialThreshold !== 'auto') {
    throw new ConfigError(
      `sae.jumprelu.initialL0 belongs to sae.jumprelu.initialThreshold 'auto', but initialThreshold is ${j.initialThreshold}.`,
      `Remove sae.jumprelu.initialL0, or remove sae.jumprelu.initialThreshold (its default is 'auto').`,
    );
  }
}
