import fs from 'node:fs';
import path from 'node:path';
import { checkBackendErrors, describeBackend, initBackend, type BackendChoice } from '../backend/select.js';
import { describeAdapter } from '../backend/webgpu.js';
import { chooseBackend, type BackendRequest } from '../backend/resume-choice.js';
import { validateConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { BackendError, ConfigError, InterruptedError, RunError, ToolkitError } from '../errors.js';
import type { EvalMetrics } from '../eval/evaluate-sae.js';
import { degenerateWarnings } from '../eval/degenerate.js';

import { assertSameConfig, configDigest, loadLatestCheckpoint } from '../io/checkpoint/checkpoint.js';
import { checkpointDue } from '../io/checkpoint/schedule.js';
import { claimRunDir } from '../io/run-dir-claim.js';
import { checkRunFitsBackend } from './backend-fit.js';
import { createRunDir, readRunInfo } from '../io/run-dir.js';
import { RunWriter } from '../io/run-writer.js';
import { RUN_FORMAT_VERSION, runFile, type MetricsRecord, type RunInfo } from '../io/run-layout.js';
import { foldInputScale } from '../sae/init.js';
import { SaeParams } from '../sae/params.js';
import { resolveRecipe } from '../sae/recipe.js';
import { displayDeadWindow, inferenceActivation, resolveArchitecture } from '../sae/architecture.js';
import { Rng } from '../util/rng.js';
import { AdamState } from '../step/adam.js';
import { FiringTracker } from './firing.js';
import { checkDownstreamEval, finishRun } from './finish.js';
import { emptyInterval } from './interval.js';
import { runLoop, type LoopState } from './loop.js';
import { planRun, type RunPlan } from './plan.js';
import { initialise } from './init-run.js';
import { captureState, restoreLoopState } from './loop-state.js';
import type { TrainHooks } from './progress.js';
import { AUTO_L1_PER_NORM, autoL1 } from './l1-default.js';
import { checkRunMemory, estimateForPlan } from './memory-check.js';
import { availableMemory } from '../util/available-memory.js';
import { ResampleMonitor } from '../resample/monitor.js';
import { resolveResampleSchedule } from '../resample/schedule.js';

export interface TrainRequest {
  /** The validated config (new runs). Ignored with `resume`: the run's own config.json is used. */
  config?: Config;
  /** The config file the run came from (names the run directory by default). */
  configFile?: string | null;
  /** Run directory; default output.dir/output.name (or the config file's name). */
  outDir?: string;
  /** Continue the run in this directory from its newest good checkpoint. */
  resume?: string;
  /**
   * With `resume`: the run's new train.steps (to extend a finished run, or shorten one that has not
   * reached it). Schedules that depend on the run length follow the new length from here on.
   */
  extendSteps?: number;
  /** Overwrite a non-empty run directory. */
  force?: boolean;
  backend?: BackendChoice;
  /** Say why the preferred backends did not load (e.g. tfjs-node not installed). */
  verbose?: boolean;
  /** Memory budget in bytes to check the run's estimate against (default: the machine's free memory). */
  maxMemory?: number;
}

export interface TrainResult {
  runDir: string;
  backend: string;
  steps: number;
  tokens: number;
  seconds: number;
  resumedFrom: number | null;
  last: MetricsRecord | null;
  eval: EvalMetrics;
  /** Why the result looks degenerate (empty when it does not), from the held-out metrics. */
  warnings: string[];
}

/** Where a new run's directory is. */
export function runDirFor(config: Config, configFile: string | null | undefined, outDir?: string): string {
  if (outDir) return path.resolve(outDir);
  const name = config.output.name ?? (configFile ? path.basename(configFile).replace(/\.json$/i, '') : 'run');
  return path.join(config.output.dir, name);
}

/** The config a run was started with (its config.json). */
export function readRunConfig(runDir: string): Config {
  const file = runFile(runDir, 'config');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    throw new RunError(
      `${runDir} is not a run directory that can be resumed (${path.basename(file)} is missing or unreadable)`,
      'Resume takes a directory written by `sae train`; start a new run with --config.',
    );
  }
  const { formatVersion, ...config } = raw;
  void formatVersion;
  return validateConfig(config, runDir, file);
}

/**
 * Train an SAE end to end (or continue one): plan, initialise or restore, loop with checkpoints,
 * then write the dictionary, statistics and held-out evaluation. The run directory is locked
 * while this runs.
 */
export async function train(req: TrainRequest, hooks: TrainHooks = {}): Promise<TrainResult> {
  const log = hooks.onLog ?? (() => {});
  const resuming = req.resume !== undefined;
  const runDir = resuming ? path.resolve(req.resume!) : runDirFor(req.config!, req.configFile, req.outDir);
  if (resuming && !fs.existsSync(runDir)) {
    throw new RunError(`${req.resume}: no such run directory`, 'Pass the directory of a run started with `sae train --config`.');
  }
  const stored = resuming ? readRunConfig(runDir) : req.config!;
  const cfg = resuming && req.extendSteps !== undefined ? { ...stored, train: { ...stored.train, steps: req.extendSteps } } : stored;
  const request = chooseBackend(req.backend, cfg.runtime.backend, resuming ? recordedBackend(runDir) : undefined);
  const backend = await loadBackend(request);
  // One short line; why the preferred backends did not load only with --verbose.
  const recorded = request.source === 'recorded' ? ' (the backend this run was trained on)' : '';
  log(`backend: ${describeBackend(req.verbose ? backend : { ...backend, fallbacks: [] })}${recorded}`);

  const plan = await planRun(cfg);
  // sae.k against the width: a ConfigError before the run directory exists.
  resolveArchitecture(cfg.sae, { d: plan.d, m: plan.m, totalSteps: plan.totalSteps, batchSize: cfg.train.batchSize });
  checkDownstreamEval(cfg, plan);
  checkRunFitsBackend(cfg, plan);
  checkRunMemory(estimateForPlan(cfg, plan, backend.name), {
    available: availableMemory(),
    backend: backend.name,
    ...(req.maxMemory !== undefined ? { maxMemory: req.maxMemory } : {}),
  });
  const lock = claimRunDir(runDir, { fresh: !resuming, force: req.force ?? false });
  try {
    const device = backend.adapter ? describeAdapter(backend.adapter) : undefined;
    return await trainLocked(req, cfg, configDigest(stored), plan, runDir, backend.name, device, hooks, log);
  } finally {
    lock.release();
  }
}

/** The backend a run directory says it trained on; undefined when run.json does not say. */
function recordedBackend(runDir: string): string | undefined {
  try {
    return readRunInfo(runDir).backend;
  } catch {
    return undefined;
  }
}

async function loadBackend(request: BackendRequest): Promise<Awaited<ReturnType<typeof initBackend>>> {
  try {
    return await initBackend(request.choice);
  } catch (err) {
    if (request.source !== 'recorded' || !(err instanceof ToolkitError)) throw err;
    throw new BackendError(
      `This run was trained on the ${request.choice} backend, which does not load here: ${err.message}`,
      `Resume it where ${request.choice} works, or pass --backend auto (or wasm, cpu) to continue on another backend; the continuation is then not bit-exact with an uninterrupted run.`,
    );
  }
}

async function trainLocked(
  req: TrainRequest,
  cfg: Config,
  storedDigest: string,
  plan: RunPlan,
  runDir: string,
  backendName: string,
  device: string | undefined,
  hooks: TrainHooks,
  log: (l: string) => void,
): Promise<TrainResult> {
  const out = new RunWriter(runDir);
  const recipe = resolveRecipe(cfg);
  const architecture = resolveArchitecture(cfg.sae, { d: plan.d, m: plan.m, totalSteps: plan.totalSteps, batchSize: cfg.train.batchSize });
  let digest = configDigest(cfg);
  const schedule = resolveResampleSchedule(cfg.resample, plan.totalSteps, cfg.train.batchSize, plan.trainRows);
  const deadShown = displayDeadWindow(architecture, schedule);
  const checkpoint = req.resume !== undefined ? loadLatestCheckpoint(runDir, (w) => log(`warning: ${w}`)) : null;
  const priorDigests = checkpoint ? (readRunInfo(runDir).priorConfigDigests ?? []) : [];
  if (checkpoint) assertSameConfig(checkpoint, [digest, storedDigest, ...priorDigests], runDir);
  let info: RunInfo;
  let state: LoopState;
  let params: SaeParams;
  let adam: AdamState;
  let scale: number;

  if (checkpoint) {
    if (checkpoint.step > plan.totalSteps) {
      throw new ConfigError(
        `train.steps = ${plan.totalSteps} is below the ${checkpoint.step} steps ${runDir} has already trained`,
        `Give a larger train.steps (e.g. --set train.steps=${checkpoint.step * 2}), or use the run as it is.`,
      );
    }
    const extended = storedDigest !== digest;
    if (extended) {
      log(`extending ${runDir} to ${plan.totalSteps} steps (train.steps); the learning-rate and resampling schedules follow the new length`);
      out.config(cfg);
    }
    log(`resuming ${runDir} from step ${checkpoint.step} of ${plan.totalSteps}`);
    scale = checkpoint.inputScale;
    params = new SaeParams(checkpoint.weights);
    adam = new AdamState(plan.d, plan.m, { logThreshold: params.log_threshold !== undefined });
    adam.restore(checkpoint.adam);
    state = restoreLoopState(checkpoint, plan.m, schedule.deadWindow);
    out.truncateLogs(checkpoint.step);
    info = { ...readRunInfo(runDir), status: 'running', backend: backendName, step: checkpoint.step, tokens: checkpoint.tokens, totalSteps: plan.totalSteps };
    if (extended) info.priorConfigDigests = [...new Set([...priorDigests, storedDigest])];
    delete info.reason;
    delete info.device;
    if (device) info.device = device;
  } else {
    if (req.resume !== undefined) {
      // Killed before its first checkpoint: nothing to lose, start it again with its own config.
      log(`warning: ${runDir} has no usable checkpoint yet; starting it again from step 0 with its config`);
      createRunDir(runDir, { force: true });
    }
    out.config(cfg);
    for (const w of schedule.warnings) log(`warning: ${w}`);
    log(
      `data: ${plan.train.rows} rows, d=${plan.d}, ${plan.train.shards.length} shard(s); held out: ` +
        (plan.eval ? `${plan.evalRows} rows (data.eval)` : `~${plan.evalRows} rows (${cfg.data.evalFraction} of train)`) +
        `; SAE width ${plan.m}; ${plan.totalSteps} steps of ${cfg.train.batchSize}` +
        (schedule.enabled
          ? `\nresampling: ${schedule.steps.length} event(s) at step ${formatSteps(schedule.steps)}, dead window ${schedule.deadWindow} steps, scoring ${schedule.samples} rows per event`
          : '\nresampling: off') +
        `\n'dead' in progress lines: no firing in the last ${deadShown.steps} steps (${deadShown.what}); in the held-out summary: none on those rows`,
    );
    const init = await initialise(cfg, plan, recipe, architecture, log);
    if (cfg.sae.l1 === 'auto') {
      const l1 = autoL1(init.meanNorm);
      log(`sae.l1: ${l1} (auto: ${AUTO_L1_PER_NORM} x the mean activation norm ${init.meanNorm.toFixed(3)}; written into config.json)`);
      cfg = { ...cfg, sae: { ...cfg.sae, l1 } };
      digest = configDigest(cfg);
      out.config(cfg);
    }
    scale = init.scale;
    params = init.params;
    adam = new AdamState(plan.d, plan.m, { logThreshold: params.log_threshold !== undefined });
    state = {
      step: 0,
      tokens: 0,
      elapsedBefore: 0,
      interval: emptyInterval(),
      last: null,
      tracker: new FiringTracker(plan.m),
      monitor: new ResampleMonitor(plan.m, schedule.deadWindow),
      resampleRng: new Rng(cfg.train.seed).fork('resample'),
      kernel: { current: 'dense', lastL0: null },
      threshold: null,
    };
    const now = new Date().toISOString();
    info = {
      formatVersion: RUN_FORMAT_VERSION,
      status: 'running',
      createdAt: now,
      updatedAt: now,
      backend: backendName,
      ...(device ? { device } : {}),
      d: plan.d,
      m: plan.m,
      totalSteps: plan.totalSteps,
      step: 0,
      tokens: 0,
      inputScale: scale,
      dataMetadata: plan.metadata,
      trainRows: plan.trainRows,
      evalRows: plan.evalRows,
      seed: cfg.train.seed,
      recipe,
      ...(architecture.name !== 'relu' ? { architecture } : {}),
    };
  }
  // What encode() applies while training (resampling scores with it): TopK per row for both
  // (batchtopk's threshold exists only once averaged); the dictionary's own at the end. jumprelu's
  // thresholds move every step: the loop sets them before resampling scores.
  if ('k' in architecture) params.activation = { kind: 'topk', k: architecture.k };
  out.info({ ...info, updatedAt: new Date().toISOString() });

  const resumedFrom = checkpoint?.step ?? null;
  const checkpoints = { everySteps: cfg.output.checkpointEverySteps, everyMinutes: cfg.output.checkpointEveryMinutes, totalSteps: plan.totalSteps };
  const sessionStart = performance.now();
  let lastCheckpointAt = performance.now();
  const save = async (s: LoopState) => {
    const elapsed = s.elapsedBefore + (performance.now() - sessionStart) / 1000;
    out.checkpoint(await captureState(s, params, adam, scale, digest, elapsed), cfg.output.keepCheckpoints);
    lastCheckpointAt = performance.now();
    out.info({ ...info, step: s.step, tokens: s.tokens, updatedAt: new Date().toISOString() });
  };
  try {
    await runLoop(
      {
        cfg,
        plan,
        out,
        params,
        adam,
        recipe,
        architecture,
        scale,
        schedule,
        hooks,
        checkpointDue: (step) => checkpointDue(step, (performance.now() - lastCheckpointAt) / 1000, checkpoints),
        afterStep: async (s, { checkpoint, sync }) => {
          if (!checkpoint) return;
          await sync();
          await save(s);
        },
      },
      state,
    );
    for (const rec of state.monitor.finish(state.step)) out.resample(rec);
    params.activation = inferenceActivation(architecture, plan.m, state.threshold, params.log_threshold ? ((await params.log_threshold.data()) as Float32Array) : undefined);
    const weights = foldInputScale(await params.read(), scale);
    const evalMetrics = await finishRun(cfg, plan, out, weights);
    checkBackendErrors('the final evaluation and statistics');
    const seconds = state.elapsedBefore + (performance.now() - sessionStart) / 1000;
    out.info({ ...info, status: 'finished', step: state.step, tokens: state.tokens, updatedAt: new Date().toISOString() });
    return { runDir, backend: backendName, steps: state.step, tokens: state.tokens, seconds, resumedFrom, last: state.last, eval: evalMetrics, warnings: degenerateWarnings(evalMetrics, architecture.name === 'relu' ? 'l1' : architecture.name === 'jumprelu' ? 'l0' : 'k') };
  } catch (err) {
    const interrupted = err instanceof InterruptedError;
    let thrown = err;
    if (interrupted) {
      await save(state);
      thrown = new InterruptedError(
        `${err.message}; checkpoint written at step ${state.step}`,
        `Resume with: sae train --resume ${path.relative(process.cwd(), runDir) || '.'}`,
        err.exitCode,
      );
    }
    out.info({
      ...info,
      status: interrupted ? 'interrupted' : 'failed',
      reason: err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err),
      step: state.step,
      tokens: state.tokens,
      updatedAt: new Date().toISOString(),
    });
    throw thrown;
  } finally {
    params.dispose();
    adam.dispose();
  }
}

/** "100, 200, 300" or "100, 200, ..., 800" for long lists. */
function formatSteps(steps: number[]): string {
  return steps.length <= 5 ? steps.join(', ') : `${steps.slice(0, 3).join(', ')}, ..., ${steps.at(-1)}`;
}
