import type { EvalMetrics } from './metrics.js';

/**
 * Why a trained SAE is not a usable dictionary, one line each (empty when it is): more active
 * features per row than input dimensions, reconstructions worse than the mean, or most features
 * dead or dense. Each line says what to change.
 */
export function degenerateWarnings(
  m: Pick<EvalMetrics, 'd' | 'm' | 'l0' | 'explainedVariance' | 'deadFraction' | 'denseFraction' | 'denseThreshold'>,
  sparsityBy: 'l1' | 'k' | 'l0' = 'l1',
): string[] {
  const out: string[] = [];
  // topk / batchtopk set their sparsity with sae.k (fewer active features: lower it), jumprelu
  // with its L0 penalty, relu with sae.l1.
  const [sparser, denser, revive] = {
    l1: ['raise sae.l1', 'lower sae.l1 or train.lr', 'lower sae.l1 or train.lr, or keep resampling on'],
    k: ['lower sae.k', 'raise sae.k or lower train.lr', 'keep sae.auxK on, lower train.lr, or turn resampling on'],
    l0: ['raise sae.jumprelu.l0Coefficient', 'lower sae.jumprelu.l0Coefficient or train.lr', 'lower sae.jumprelu.l0Coefficient or train.lr, or turn resampling on'],
  }[sparsityBy];
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  if (m.l0 > m.d) {
    out.push(`L0 ${m.l0.toFixed(1)} is above the input width d = ${m.d}: the code is not sparse; ${sparser} (or train longer)`);
  }
  if (!(m.explainedVariance >= 0)) {
    out.push(`held-out explained variance ${m.explainedVariance.toFixed(3)} is below 0 (worse than predicting the mean): train longer (train.steps), or ${denser}`);
  }
  if (m.deadFraction > 0.5) {
    out.push(`${pct(m.deadFraction)} of the ${m.m} features never fired on the held-out rows: ${revive}`);
  }
  if (m.denseFraction > 0.5) {
    out.push(`${pct(m.denseFraction)} of the ${m.m} features fire on more than ${pct(m.denseThreshold)} of rows (dense): ${sparser}`);
  }
  return out;
}
