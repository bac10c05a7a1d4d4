import type { Config } from '../config/schema.js';
import { BatchStream } from '../data/batch-stream.js';
import type { Batch } from '../data/types.js';
import { DataError } from '../errors.js';
import { columnMean, expectedNormScale, meanNorm, geometricMedian, initWeights } from '../sae/init.js';
import { SaeParams } from '../sae/params.js';
import type { ResolvedRecipe } from '../sae/recipe.js';
import { initialLogThreshold, type ResolvedArchitecture } from '../sae/architecture.js';
import { Rng } from '../util/rng.js';
import type { RunPlan } from './plan.js';

/**
 * The rows b_dec and the input scale are estimated from: the first initSamples rows of a shuffled
 * stream with its own seed (a random sample of the first shuffle-buffer's worth of data; SAELens
 * estimates from its first batches likewise). No pass over the whole dataset before step 1.
 */
async function initSample(cfg: Config, plan: RunPlan, log: (l: string) => void): Promise<Batch> {
  const n = Math.max(1, Math.min(cfg.sae.initSamples, plan.trainRows));
  const stream = new BatchStream(plan.train, plan.cols, {
    batchSize: n,
    shuffleBuffer: Math.max(cfg.data.shuffleBuffer, n),
    seed: cfg.train.seed + 1,
    epochs: 1,
    ...(plan.split ? { split: plan.split } : {}),
    skipBadShards: cfg.data.skipBadShards,
    onWarning: (m) => log(`warning: ${m}`),
  });
  for await (const batch of stream) return batch;
  throw new DataError(`${plan.train.shards[0]?.path}: no training rows to initialise the SAE from`, 'Check data.train and data.evalFraction.');
}

/** Initial weights from a data sample: input scale, b_dec, random decoder directions. */
export async function initialise(
  cfg: Config,
  plan: RunPlan,
  recipe: ResolvedRecipe,
  architecture: ResolvedArchitecture,
  log: (l: string) => void,
): Promise<{ params: SaeParams; scale: number; /** Mean norm of the sample in training units (after the scale). */ meanNorm: number }> {
  const sample = await initSample(cfg, plan, log);
  const scale = cfg.sae.normalize === 'expected-norm' ? expectedNormScale(sample.x, sample.rows, plan.d) : 1;
  if (scale !== 1) for (let i = 0; i < sample.x.length; i++) sample.x[i]! *= scale;
  const bDec =
    cfg.sae.bDecInit === 'zeros'
      ? new Float32Array(plan.d)
      : cfg.sae.bDecInit === 'mean'
        ? columnMean(sample.x, sample.rows, plan.d)
        : geometricMedian(sample.x, sample.rows, plan.d);
  const weights = initWeights(plan.d, plan.m, new Rng(cfg.train.seed).fork('init'), recipe.decoderInitNorm, bDec);
  const logThreshold = initialLogThreshold(architecture, plan.m);
  if (logThreshold) weights.log_threshold = logThreshold;
  return { params: new SaeParams(weights), scale, meanNorm: meanNorm(sample.x, sample.rows, plan.d) };
}
