import type { Config } from '../config/schema.js';
import { evaluateSae, type EvalMetrics } from '../eval/evaluate-sae.js';
import { FeatureStatsPass } from '../features/stats.js';
import { writeFeatureStats } from '../features/table.js';
import { readResampleHistory } from '../features/resample-history.js';
import type { RunWriter } from '../io/run-writer.js';
import { evaluateWithModel, type ModelEvalReport } from '../eval/evaluate-model.js';
import { hookNameFrom } from '../io/saelens.js';
import { ConfigError } from '../errors.js';
import { llamaConfig } from '../model/config.js';
import { readGgufHeader } from '../model/gguf/reader.js';
import { parseHook } from '../model/hooks.js';
import { SaeParams, type SaeWeights } from '../sae/params.js';
import { readBlocks } from '../data/dataset.js';
import { heldOutSource, type RunPlan } from './plan.js';

/**
 * Before training: an `eval.model` that cannot run at the end (missing file, unsupported model,
 * hook it lacks, other width) is an error now, not after the run.
 */
export function checkDownstreamEval(cfg: Config, plan: RunPlan): void {
  if (!cfg.eval.model) return;
  const model = llamaConfig(readGgufHeader(cfg.eval.model));
  const hook = parseHook(cfg.eval.hook ?? hookNameFrom(plan.metadata), model.nLayers);
  if (model.dModel !== plan.d) {
    throw new ConfigError(`eval.model: ${cfg.eval.model} has width ${model.dModel} at ${hook.name}, but the training data has width ${plan.d}.`, 'Name the model the activations came from, or remove eval.model.');
  }
}

/** `eval.model`: the dictionary spliced into the language model (see evaluateWithModel). */
async function downstreamEval(cfg: Config, plan: RunPlan, weights: SaeWeights): Promise<ModelEvalReport> {
  const e = cfg.eval;
  return evaluateWithModel(weights, hookNameFrom(plan.metadata), {
    model: e.model!,
    data: e.data ?? cfg.data.eval?.[0] ?? cfg.data.train[0]!,
    context: e.context,
    maxTokens: e.maxTokens,
    includeBos: e.includeBos,
    backend: cfg.runtime.backend,
    ...(e.hook ? { hook: e.hook } : {}),
  });
}

/**
 * After the loop: per-feature statistics and the held-out evaluation (both over held-out data, in
 * raw-activation units, from one encode of its rows: the evaluation hands its activations to the
 * statistics' pass), then the dictionary in SAELens' layout with its log10 densities.
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
    const pass = new FeatureStatsPass(weights.d, weights.m, {
      topK: cfg.output.topK,
      contextTokens: cfg.output.contextTokens,
      denseThreshold: cfg.output.denseThreshold,
      ...(cfg.output.statsRows !== undefined ? { maxRows: cfg.output.statsRows } : {}),
      resampleHistory: readResampleHistory(out.dir),
      // Held-out rows chosen by hash are scattered: take the context tokens from the whole file.
      ...(plan.split ? { contextSource: () => readBlocks(plan.train, plan.cols) } : {}),
    });
    const evalMetrics = await evaluateSae(sae, source(), {
      denseThreshold: cfg.output.denseThreshold,
      onActivations: (f, rows, rowIds, batch) => {
        pass.noteBatch(batch);
        pass.add(f, rows, rowIds);
      },
    });
    const stats = await pass.result(sae, source);
    writeFeatureStats(out.dir, stats);
    out.dictionary(weights, { dataMetadata: plan.metadata, log10Density: stats.log10Density });
    const downstream = cfg.eval.model ? await downstreamEval(cfg, plan, weights) : undefined;
    out.evaluation(downstream ? { ...evalMetrics, downstream } : evalMetrics);
    return evalMetrics;
  } finally {
    sae.dispose();
  }
}
