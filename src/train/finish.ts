import type { Config } from '../config/schema.js';
import { evaluateSae, type EvalMetrics } from '../eval/evaluate-sae.js';
import { computeFeatureStats } from '../features/stats.js';
import { writeFeatureStats } from '../features/table.js';
import { readResampleHistory } from '../features/resample-history.js';
import type { RunWriter } from '../io/run-writer.js';
import { SaeParams, type SaeWeights } from '../sae/params.js';
import { readBlocks } from '../data/dataset.js';
import { heldOutSource, type RunPlan } from './plan.js';

/**
 * After the loop: per-feature statistics and the held-out evaluation (both over held-out data, in
 * raw-activation units), then the dictionary in SAELens' layout with its log10 densities.
 */
export async function finishRun(
  cfg: Config,
  plan: RunPlan,
  out: RunWriter,
  weights: SaeWeights,
): Promise<EvalMetrics> {
  const source = heldOutSource(plan);
  const sae = new SaeParams(weights);
  try {
    const stats = await computeFeatureStats(sae, source, {
      topK: cfg.output.topK,
      contextTokens: cfg.output.contextTokens,
      denseThreshold: cfg.output.denseThreshold,
      ...(cfg.output.statsRows !== undefined ? { maxRows: cfg.output.statsRows } : {}),
      resampleHistory: readResampleHistory(out.dir),
      // Held-out rows chosen by hash are scattered: take the context tokens from the whole file.
      ...(plan.split ? { contextSource: () => readBlocks(plan.train, plan.cols) } : {}),
    });
    writeFeatureStats(out.dir, stats);
    out.dictionary(weights, { dataMetadata: plan.metadata, log10Density: stats.log10Density });
    const evalMetrics = await evaluateSae(sae, source(), { denseThreshold: cfg.output.denseThreshold });
    out.evaluation(evalMetrics);
    return evalMetrics;
  } finally {
    sae.dispose();
  }
}
