import * as tf from '../backend/tfjs.js';
import type { Config } from '../config/schema.js';
import { BatchStream } from '../data/batch-stream.js';
import type { Batch } from '../data/types.js';
import { DataError } from '../errors.js';
import { columnMean, expectedNormScale, meanNorm, geometricMedian, initWeights, scaleInput } from '../sae/init.js';
import { SaeParams, type SaeWeights } from '../sae/params.js';
import type { ResolvedRecipe } from '../sae/recipe.js';
import { initialLogThreshold, type ResolvedArchitecture } from '../sae/architecture.js';
import { FIT_MAX_ROWS, fitRowBlock, fitTopKEncoderScale, scaleEncoder } from '../sae/encoder-fit.js';
import { autoThresholdBlock, autoThresholds } from '../sae/jumprelu-init.js';
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
  if (scale !== 1) scaleInput(sample.x, scale);
  const bDec =
    cfg.sae.bDecInit === 'zeros'
      ? new Float32Array(plan.d)
      : cfg.sae.bDecInit === 'mean'
        ? columnMean(sample.x, sample.rows, plan.d)
        : geometricMedian(sample.x, sample.rows, plan.d);
  const weights = initWeights(plan.d, plan.m, new Rng(cfg.train.seed).fork('init'), recipe.decoderInitNorm, bDec);
  const fromData = architecture.name === 'jumprelu' && architecture.initialL0 !== null ? await autoInit(weights, sample, architecture.initialL0, log) : null;
  const logThreshold = initialLogThreshold(architecture, plan.m, fromData);
  if (logThreshold) weights.log_threshold = logThreshold;
  if (cfg.sae.encoderInit === 'fit' && (architecture.name === 'topk' || architecture.name === 'batchtopk')) {
    await fitEncoder(weights, sample, architecture.kStart, architecture.name === 'batchtopk', log);
  }
  return { params: new SaeParams(weights), scale, meanNorm: meanNorm(sample.x, sample.rows, plan.d) };
}

/**
 * initialThreshold 'auto' (jumprelu-init.ts): the thresholds from the sample's pre-activations
 * (one product on the run's backend), the encoder scaled in place.
 */
async function autoInit(weights: SaeWeights, sample: Batch, initialL0: number, log: (l: string) => void): Promise<Float32Array> {
  const { d, m } = weights;
  const rows = Math.min(sample.rows, FIT_MAX_ROWS);
  const x = sample.x.subarray(0, rows * d);
  const block = autoThresholdBlock(rows, m);
  const xc = tf.sub(tf.tensor2d(x, [rows, d]), tf.tensor1d(weights.b_dec));
  const W = tf.tensor2d(weights.W_enc, [d, m]);
  const b = tf.tensor1d(weights.b_enc);
  try {
    // Each block's preT [count, rows]: a plain product, then a transpose. On wasm the transposed
    // product is ~15x slower (4,096 rows at d 512, m 8192: 64 s against 4).
    const pre = async (first: number, count: number) => {
      const t = tf.tidy(() => tf.transpose(tf.add(tf.matMul(xc, tf.slice(W, [0, first], [d, count])), tf.slice(b, [first], [count]))));
      try {
        return (await t.data()) as Float32Array;
      } finally {
        t.dispose();
      }
    };
    const { theta, encoderScale } = await autoThresholds(weights, x, rows, (rows * initialL0) / m, pre, block);
    scaleEncoder(weights, encoderScale);
    log(
      `jumprelu: thresholds at step 0 set from ${rows} sample rows so that each feature fires on ${initialL0}/${m} of them ` +
        `(initialThreshold 'auto'; median ${median(theta).toPrecision(3)}), encoder scaled by ${encoderScale.toPrecision(3)} to fit their reconstruction`,
    );
    return theta;
  } finally {
    tf.dispose([xc, W, b]);
  }
}

/** sae.encoderInit 'fit' (encoder-fit.ts): W_enc and b_enc scaled in place. */
async function fitEncoder(weights: SaeWeights, sample: Batch, k: number, batch: boolean, log: (l: string) => void): Promise<void> {
  const { d, m } = weights;
  const rows = Math.min(sample.rows, FIT_MAX_ROWS);
  const x = sample.x.subarray(0, rows * d);
  const W = tf.tensor2d(weights.W_enc, [d, m]);
  const b = tf.tensor1d(weights.b_enc);
  const bDec = tf.tensor1d(weights.b_dec);
  let s: number;
  try {
    const pre = async (first: number, count: number) => {
      const t = tf.tidy(() => tf.add(tf.matMul(tf.sub(tf.tensor2d(x.subarray(first * d, (first + count) * d), [count, d]), bDec), W), b));
      try {
        return (await t.data()) as Float32Array;
      } finally {
        t.dispose();
      }
    };
    s = await fitTopKEncoderScale(weights, x, rows, k, batch, pre, fitRowBlock(m));
  } finally {
    tf.dispose([W, b, bDec]);
  }
  scaleEncoder(weights, s);
  log(`encoder scaled by ${s.toPrecision(3)} to fit the reconstruction of ${rows} sample rows at k = ${k} (sae.encoderInit 'fit')`);
}

function median(v: Float32Array): number {
  const s = Float32Array.from(v).sort();
  return s[Math.floor(s.length / 2)] ?? NaN;
}
