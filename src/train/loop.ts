import * as tf from '../backend/tfjs.js';
import { backendCapabilities } from '../backend/select.js';
import type { Config } from '../config/schema.js';
import { bernoulliRows } from '../data/sample.js';
import { prefetch } from '../data/prefetch.js';
import type { Batch } from '../data/types.js';
import { DivergenceError, InternalError, InterruptedError } from '../errors.js';
import type { MetricsRecord } from '../io/run-layout.js';
import type { RunWriter } from '../io/run-writer.js';
import type { SaeParams } from '../sae/params.js';
import type { ResolvedRecipe } from '../sae/recipe.js';
import { displayDeadWindow, inferenceActivation, nextThreshold, stepActivation, type ResolvedArchitecture } from '../sae/architecture.js';
import { jumpReluStep } from '../sae/jumprelu.js';
import type { StepArchitecture } from '../sae/gradients.js';
import { disposeStats, type StepConfig } from '../step/dense.js';
import type { Rng } from '../util/rng.js';
import type { AdamState } from '../step/adam.js';
import type { FiringTracker } from './firing.js';
import { addStep, emptyInterval, intervalMeans, type IntervalSums, type StepValues } from './interval.js';
import { createStepEngine, defaultWorkers, recordedWorkerThreads, type KernelChoice, type StepEngine } from '../step/engine.js';
import { StepInput } from '../step/step-input.js';
import { scaleInput } from '../sae/init.js';
import { readStepStats } from './read-stats.js';
import { trainingStream, type RunPlan } from './plan.js';
import type { TrainHooks } from './progress.js';
import type { ResampleMonitor } from '../resample/monitor.js';
import { resampleDeadFrom } from '../resample/resample.js';
import type { ResampleSchedule } from '../resample/schedule.js';
import { l1Coefficient, learningRate, type LrSchedule } from './schedules.js';

/** Everything the loop mutates; checkpoints capture it whole. */
export interface LoopState {
  step: number;
  tokens: number;
  /** Training seconds of earlier sessions of this run (resume). */
  elapsedBefore: number;
  interval: IntervalSums;
  last: MetricsRecord | null;
  tracker: FiringTracker;
  monitor: ResampleMonitor;
  resampleRng: Rng;
  /** The step formulation 'auto' is on (checkpointed, so a resumed run makes the same choices). */
  kernel: KernelChoice;
  /** batchtopk: the running inference threshold (null: not started; other architectures: null). */
  threshold: number | null;
}

export interface LoopContext {
  cfg: Config;
  plan: RunPlan;
  /** Where the loop's records go (metrics.jsonl, resample.jsonl). */
  out: RunWriter;
  params: SaeParams;
  adam: AdamState;
  /** The run's recipe, resolved once (resolveRecipe). */
  recipe: ResolvedRecipe;
  /** The run's architecture, resolved once (resolveArchitecture). */
  architecture: ResolvedArchitecture;
  /** Inputs are multiplied by this before the SAE sees them. */
  scale: number;
  schedule: ResampleSchedule;
  hooks: TrainHooks;
  /**
   * Called after every step; writes a checkpoint when due (the trainer decides). The step engine
   * may hold the newest weights in its workers: `sync` writes them into params and adam, and
   * must be awaited before reading those.
   */
  afterStep: (state: LoopState, stepDone: { final: boolean; checkpoint: boolean; sync: () => Promise<void> }) => Promise<void>;
  /**
   * Whether a checkpoint is due after this step (the trainer decides), asked once per step, when
   * the step is dispatched; afterStep gets the answer. Where reads are pipelined such a step is
   * finished before the next one runs, so the checkpoint holds this step's weights.
   */
  checkpointDue: (step: number) => boolean;
}

/**
 * The training loop, top to bottom: batch -> step -> bookkeeping -> log -> resample -> checkpoint.
 * Starts at state.step (0 for a new run) and runs to plan.totalSteps.
 */
export async function runLoop(ctx: LoopContext, state: LoopState): Promise<void> {
  const { cfg, plan, schedule } = ctx;
  const lrSchedule: LrSchedule = {
    lr: cfg.train.lr,
    totalSteps: plan.totalSteps,
    warmupSteps: cfg.train.lrWarmupSteps,
    decay: cfg.train.lrDecay,
    decayFraction: cfg.train.lrDecayFraction,
    minFactor: cfg.train.lrMinFactor,
    rewarmupAt: schedule.enabled ? schedule.steps : [],
    rewarmupSteps: cfg.resample.rewarmupSteps,
  };
  const adamHyper = { beta1: cfg.train.beta1, beta2: cfg.train.beta2, eps: cfg.train.eps };
  const engine = createStepEngine({
    kind: cfg.train.kernel,
    workers: recordedWorkerThreads(state.kernel) ?? (cfg.train.workers === 'auto' ? defaultWorkers(tf.getBackend(), plan.m) : cfg.train.workers),
    simd: cfg.train.simd,
    batchSize: cfg.train.batchSize,
    d: plan.d,
    m: plan.m,
    resume: state.kernel,
    onWarning: (m) => (ctx.hooks.onLog ?? (() => {}))(`warning: ${m}`),
    hostKernels: backendCapabilities().hostKernels,
  });
  try {
    await steps(ctx, state, engine, lrSchedule, adamHyper);
    await engine.sync();
  } catch (err) {
    // Whatever stopped the loop (an interrupt writes a checkpoint next), params and adam get the last step.
    await engine.sync().catch(() => {});
    throw err;
  } finally {
    await engine.dispose();
  }
}

/** A step the GPU has been given, whose statistics are on their way back. */
interface Dispatched {
  step: number;
  /** A checkpoint follows this step (decided when it was dispatched). */
  checkpoint: boolean;
  lr: number;
  sparsityCoefficient: number;
  rows: number;
  stats: ReturnType<typeof readStepStats>;
}

/**
 * Whether the loop reads each step's statistics while the next step runs (one step behind) rather
 * than before dispatching it: on a GPU every read drains the queue, so reading at once leaves the
 * GPU idle while the host prepares the next step. The numbers are the same either way (the
 * bookkeeping only runs later); it applies where the next step's config does not depend on the
 * last step's statistics (AuxK's dead mask does) and where reads are asynchronous (GPU backends).
 */
export function pipelinesReads(architecture: ResolvedArchitecture, syncReads: boolean): boolean {
  return !syncReads && !('auxK' in architecture && architecture.auxK);
}

async function steps(
  ctx: LoopContext,
  state: LoopState,
  engine: StepEngine,
  lrSchedule: LrSchedule,
  adamHyper: StepConfig['adam'],
): Promise<void> {
  const { cfg, plan, out, params, adam, scale, schedule, hooks } = ctx;
  const log = hooks.onLog ?? (() => {});
  const resampleAt = new Set(schedule.enabled ? schedule.steps : []);
  const pipelined = pipelinesReads(ctx.architecture, backendCapabilities().syncReads);
  const t0 = performance.now();
  let tPrev = performance.now();
  let lastRan = '';

  if (state.step >= plan.totalSteps) return;
  // topk / batchtopk / jumprelu have no L1 term (checkArchitectureFields refuses sae.l1 there).
  const l1 = ctx.architecture.name === 'relu' ? cfg.sae.l1 : 0;
  if (l1 === 'auto' || l1 === undefined) throw new InternalError("sae.l1 'auto' reached the training loop unresolved");

  /** A step's bookkeeping once its statistics are here: metrics, firing, logs, resampling, checkpoints. */
  const finish = async (job: Dispatched): Promise<void> => {
    const { step, lr } = job;
    const { values: v, fired, threshold } = await job.stats;
    state.threshold = nextThreshold(ctx.architecture, step, state.threshold, threshold);
    if (!Number.isFinite(v.loss)) throw divergence(step, v, lr, cfg.train.lr);

    const now = performance.now();
    const seconds = (now - tPrev) / 1000;
    hooks.onStep?.({ step, kernel: lastRan, seconds, l0: v.l0 });
    state.step = step;
    state.tokens += job.rows;
    addStep(state.interval, v, job.rows, seconds);
    state.tracker.update(step, fired);
    for (const rec of state.monitor.afterStep(step, fired)) out.resample(rec);

    const final = step >= plan.totalSteps;
    if (step % cfg.train.logEvery === 0 || final) {
      const m = intervalMeans(state.interval);
      const elapsed = state.elapsedBefore + (now - t0) / 1000;
      state.last = {
        step,
        tokens: state.tokens,
        lr,
        l1Coefficient: job.sparsityCoefficient,
        loss: m.loss,
        mse: m.mse,
        l1: m.l1,
        explainedVariance: m.explainedVariance,
        l0: m.l0,
        deadFraction: state.tracker.deadFraction(step, Math.min(displayDeadWindow(ctx.architecture, schedule).steps, step)),
        tokensPerSecond: m.tokensPerSecond,
        elapsedSeconds: elapsed,
        split: 'train',
      };
      out.metrics(state.last);
      hooks.onProgress?.({
        ...state.last,
        totalSteps: plan.totalSteps,
        etaSeconds: ((plan.totalSteps - step) * cfg.train.batchSize) / Math.max(1e-9, m.tokensPerSecond),
      });
      state.interval = emptyInterval();
    }

    if (resampleAt.has(step) && !final) {
      await engine.sync();
      await resample(ctx, state, step, log, engine);
      engine.invalidate();
    }
    await ctx.afterStep(state, { final, checkpoint: job.checkpoint, sync: () => engine.sync() });
    tPrev = performance.now();
  };

  const stream = trainingStream(cfg, plan, state.step, (m) => log(`warning: ${m}`));
  let inFlight: Dispatched | null = null;
  let step = state.step;
  for await (const batch of prefetch(stream)) {
    step++;
    const lr = learningRate(step, lrSchedule);
    const l1c = l1Coefficient(step, l1, cfg.train.l1WarmupSteps);
    const stepCfg: StepConfig = { recipe: ctx.recipe, lr, l1Coefficient: l1c, adam: adamHyper, ...stepArchitecture(ctx.architecture, state, step) };
    // The metrics' sparsity coefficient: L1's, or jumprelu's L0 lambda (its `l1` column holds the L0 penalty term).
    const sparsityCoefficient = stepCfg.arch?.jumprelu?.coefficient ?? l1c;
    // The worker threads copy and scale the batch's rows from the stream's pool themselves; the tensor is made only if a step here needs it.
    const x = new StepInput(batch, scale);
    const stats = await engine.step(params, adam, x, stepCfg);
    const ran = engine.describe();
    if (ran !== lastRan) log(`step ${step}: kernel ${ran}${pipelined ? ' (statistics read while the next step runs)' : ''}`);
    lastRan = ran;
    state.kernel = engine.choice();
    x.dispose();
    const final = step >= plan.totalSteps;
    // readStepStats packs the statistics and starts their read before its first await: the
    // step's own tensors can go at once.
    const job: Dispatched = { step, checkpoint: ctx.checkpointDue(step), lr, sparsityCoefficient, rows: batch.rows, stats: readStepStats(stats) };
    disposeStats(stats);
    // The previous step's bookkeeping, while this one runs on the GPU.
    if (inFlight) await finish(inFlight);
    inFlight = null;
    // A step whose weights something reads next (resampling, a checkpoint, the end, a stop) is
    // finished before the next step changes them.
    if (!pipelined || final || job.checkpoint || resampleAt.has(step) || hooks.stopRequested?.()) {
      await finish(job);
      if (final) break;
      const stop = hooks.stopRequested?.();
      if (stop) throw new InterruptedError(`${stop.reason}: stopped at step ${step} of ${plan.totalSteps}`, undefined, stop.exitCode);
    } else {
      // Keep the promise from rejecting unobserved while the next step is prepared.
      job.stats.catch(() => {});
      inFlight = job;
    }
  }
  if (inFlight) await finish(inFlight);
}

/** The architecture's part of a step's config: nothing for relu (its steps stay as they were). */
function stepArchitecture(a: ResolvedArchitecture, state: LoopState, step: number): { arch?: StepArchitecture } {
  if (a.name === 'relu') return {};
  if (a.name === 'jumprelu') return { arch: { activation: stepActivation(a, step), jumprelu: jumpReluStep(a, step) } };
  const aux = a.auxK;
  return {
    arch: {
      activation: stepActivation(a, step),
      auxK: aux ? { dead: state.tracker.deadIndices(state.step, aux.deadSteps), k: aux.k, coefficient: aux.coefficient } : null,
    },
  };
}

async function resample(ctx: LoopContext, state: LoopState, step: number, log: (l: string) => void, engine: StepEngine): Promise<void> {
  const { cfg, plan, out, params, adam, scale, schedule } = ctx;
  const dead = state.tracker.deadIndices(step, schedule.deadWindow);
  // jumprelu: resampling scores the inputs with the thresholds as they are now.
  if (params.log_threshold) params.activation = inferenceActivation(ctx.architecture, plan.m, null, (await params.log_threshold.data()) as Float32Array);
  const context = { deadFraction: dead.length / plan.m, before: state.last };
  if (dead.length === 0) {
    out.resample(state.monitor.onEvent(step, dead, null, context));
    return;
  }
  // The scoring pool: each training row with probability samples / rows, streamed (never all in memory).
  const p = Math.min(1, schedule.samples / Math.max(1, plan.trainRows));
  const read = { skipBadShards: cfg.data.skipBadShards, onWarning: (m: string) => log(`warning: ${m}`) };
  const pool = scaled(bernoulliRows(plan.train, plan.cols, p, state.resampleRng.nextUint32(), plan.split, read), scale);
  // On the step's workers where it has them (each scores a range of the rows; losses equal to float32 rounding).
  const scorer = await engine.poolScorer(params);
  let result: Awaited<ReturnType<typeof resampleDeadFrom>>;
  try {
    result = await resampleDeadFrom(params, adam, dead, pool, state.resampleRng, {
      encoderScale: cfg.resample.encoderScale,
      centre: cfg.resample.centre,
      ...(scorer ? { scorer } : {}),
    });
  } catch (err) {
    await scorer?.dispose().catch(() => {});
    throw err;
  }
  await scorer?.dispose();
  state.tracker.reset(result.indices, step);
  out.resample(state.monitor.onEvent(step, dead, result, context));
  const share = `${((100 * dead.length) / plan.m).toFixed(1)}% of ${plan.m}`;
  log(`step ${step}: resampled ${result.indices.length} of ${dead.length} dead feature(s) (${share}; pool scored on ${result.scoredOn ?? 'nothing'})`);
}

function divergence(step: number, v: StepValues, lr: number, baseLr: number): DivergenceError {
  const term = !Number.isFinite(v.mse) ? 'the reconstruction (MSE) term' : 'the sparsity (L1) term';
  const what = Number.isNaN(v.mse) || Number.isNaN(v.l1) ? 'NaN' : 'infinite';
  return new DivergenceError(
    `training diverged at step ${step}: ${term} became ${what} (mse ${v.mse}, l1 ${v.l1}, lr ${lr.toExponential(2)}); ` +
      'the last good checkpoint is kept',
    `Lower the learning rate (e.g. --set train.lr=${(baseLr / 10).toExponential(1)}), enable --set sae.normalize=expected-norm, ` +
      'or set train.gradClip; then start again (or resume from the last checkpoint).',
  );
}

/** Batches with x multiplied by the input scale (copies; the source batches are not touched). */
async function* scaled(source: AsyncIterable<Batch>, scale: number): AsyncGenerator<Batch> {
  for await (const b of source) {
    if (scale === 1) yield b;
    else yield { ...b, x: scaleInput(b.x, scale, new Float32Array(b.x.length)) };
  }
}
