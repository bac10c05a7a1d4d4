import * as tf from '../backend/tfjs.js';
import { checkTensorSize, initBackend } from '../backend/select.js';
import { describeAdapter } from '../backend/webgpu.js';
import { readStepStats } from '../train/read-stats.js';
import { matMulGflopsGpu, profileGpuSteps, type GpuPhases } from './gpu-profile.js';
import { columnMean, initWeights } from '../sae/init.js';
import { PHASES, PhaseTimer, type Phase } from '../util/phase-timer.js';
import { SaeParams, type SaeWeights } from '../sae/params.js';
import { disposeStats, type StepConfig } from '../step/dense.js';
import { AdamState } from '../step/adam.js';
import { createStepEngine } from '../step/engine.js';
import { recipeFor } from '../sae/recipe.js';
import { Rng } from '../util/rng.js';
import { openBatchSource, toTensor } from './bench-data.js';
import type { BenchSpec } from './configs.js';
import { matMulGflops } from './yardstick.js';
import { benchJumpReluWeights, benchStepArchitecture } from './architecture.js';

export interface TrainBenchResult {
  config: string;
  /** sae.architecture of the step. */
  architecture: NonNullable<BenchSpec['architecture']>;
  d: number;
  m: number;
  batch: number;
  data: 'synthetic' | 'fixture';
  regime: BenchSpec['regime'];
  kernel: BenchSpec['kernel'];
  workers: number;
  /** What ran the timed steps (e.g. 'sparse x2 workers (simd)'). */
  ran: string;
  backend: string;
  /** Median over the timed windows. */
  tokensPerSecond: number;
  windowTokensPerSecond: number[];
  /** Mean milliseconds per timed step, in total and per phase. */
  msPerStep: { total: number } & Record<Phase, number>;
  /** Mean active features per row over the timed steps. */
  l0: number;
  /**
   * With workers: the main thread's own milliseconds per timed step outside the waits for them
   * (copying the batch in, adding the workers' partial sums, b_dec's Adam, the statistics): the
   * serial part, which must not grow with the worker count. 0 without workers.
   */
  mainThreadMsPerStep: number;
  timedSteps: number;
  /** Peak resident set size of the process, bytes. */
  peakRssBytes: number;
  /** The backend's plain dense product [batch, d] x [d, m], GFLOP/s. */
  matMulGflops: number;
  /** GPU backends: the adapter, and where a step's time goes (host phases above are dispatch only there). */
  gpu?: { adapter: string } & GpuPhases;
}

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k]! : (s[k - 1]! + s[k]!) / 2;
}

/**
 * Shift b_enc so that feature i fires on a fraction targetL0 / m of the sample rows (its
 * pre-activation quantile), the sparsity of a trained SAE. sample [rows, d]; at most 1024 rows
 * are used (enough for the quantile, and small next to config C's step memory).
 */
export async function sparsifyEncoderBias(w: SaeWeights, sample: Float32Array, sampleRows: number, targetL0: number): Promise<void> {
  const { d, m } = w;
  const rows = Math.min(sampleRows, 1024);
  const preT = tf.tidy(() => {
    const x = tf.tensor2d(sample.subarray(0, rows * d), [rows, d]);
    const p = tf.add(tf.matMul(tf.sub(x, tf.tensor1d(w.b_dec)), tf.tensor2d(w.W_enc, [d, m])), tf.tensor1d(w.b_enc));
    return tf.transpose(p); // [m, rows]
  });
  const pre = (await preT.data()) as Float32Array;
  preT.dispose();
  const rank = Math.min(rows - 1, Math.max(0, Math.floor(rows * (1 - targetL0 / m))));
  const col = new Float32Array(rows);
  for (let i = 0; i < m; i++) {
    col.set(pre.subarray(i * rows, (i + 1) * rows));
    col.sort();
    w.b_enc[i]! -= col[rank]!;
  }
}

/**
 * Train one config for warm-up + timed steps on the chosen backend and kernel; the timings of
 * one run in this process (the caller runs each spec in its own process, for clean peak RSS).
 */
export async function runTrainBench(spec: BenchSpec): Promise<TrainBenchResult> {
  const { shape } = spec;
  const { d, m, batch } = shape;
  const backend = await initBackend(spec.backend);
  const source = await openBatchSource(shape, spec.seed);
  const w = initWeights(d, m, new Rng(spec.seed).fork('init'), 1, columnMean(source.sample, source.sampleRows, d));
  if (spec.regime === 'trained') await sparsifyEncoderBias(w, source.sample, source.sampleRows, spec.targetL0);
  for (const [what, dims] of [['W_enc', [d, m]], ['the step activations', [batch, m]]] as const) {
    checkTensorSize(`config ${shape.name}: ${what}`, [...dims], 'Run the larger configs on a GPU whose adapter binds larger buffers.');
  }
  if (spec.architecture === 'jumprelu') benchJumpReluWeights(w);
  const params = new SaeParams(w);
  const adam = new AdamState(d, m, { logThreshold: w.log_threshold !== undefined });
  const runner = createStepEngine({
    kind: spec.kernel,
    workers: spec.workers,
    simd: spec.simd,
    batchSize: batch,
    d,
    m,
    hostKernels: backend.capabilities.hostKernels,
    ...(spec.sparseCapacity !== undefined ? { sparseCapacity: spec.sparseCapacity } : {}),
  });
  // A small learning rate keeps the regime (L0) roughly where it was set for the whole run.
  const architecture = spec.architecture ?? 'relu';
  const cfg: StepConfig = {
    recipe: recipeFor('towards-monosemanticity'),
    lr: 1e-4,
    adam: { beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    ...benchStepArchitecture(architecture, spec.regime, d, m, spec.targetL0),
  };
  const timer = new PhaseTimer();

  // The trainer's rule (train/loop.ts pipelinesReads): on a GPU a step's statistics are read while
  // the next step runs, unless the step uses AuxK (its dead mask needs them first).
  const pipelined = !backend.capabilities.syncReads && !cfg.arch?.auxK;
  let pending: ReturnType<typeof readStepStats> | null = null;
  const step = async (): Promise<number> => {
    timer.reset();
    const host = await source.next();
    const x = toTensor(host, d);
    timer.lap('data');
    const stats = await runner.step(params, adam, x, cfg, timer);
    x.dispose();
    // What the trainer reads back every step (firing counts for dead-feature tracking, scalars).
    const read = readStepStats(stats);
    disposeStats(stats);
    let l0: number;
    if (pipelined) {
      read.catch(() => {});
      const previous = pending;
      pending = read;
      l0 = previous ? (await previous).values.l0 : 0;
    } else {
      l0 = (await read).values.l0;
    }
    timer.lap('bookkeeping');
    return l0;
  };
  /** The last pipelined read (its L0), so that timing windows end with the GPU idle. */
  const drain = async (): Promise<number> => {
    const last = pending;
    pending = null;
    return last ? (await last).values.l0 : 0;
  };

  try {
    for (let s = 0; s < shape.warmupSteps; s++) await step();
    await drain();
    timer.take();
    const serial0 = runner.mainThreadMs().serial;
    const windows: number[] = [];
    let l0Sum = 0;
    let totalMs = 0;
    for (let k = 0; k < shape.windows; k++) {
      const t0 = performance.now();
      for (let s = 0; s < shape.stepsPerWindow; s++) l0Sum += await step();
      l0Sum += await drain();
      const ms = performance.now() - t0;
      totalMs += ms;
      windows.push((shape.stepsPerWindow * batch * 1000) / ms);
    }
    const steps = shape.windows * shape.stepsPerWindow;
    const phases = timer.take();
    const gpu = backend.adapter
      ? { adapter: describeAdapter(backend.adapter), ...(await profileGpuSteps(runner, params, adam, source, cfg, shape.windows)) }
      : undefined;
    const msPerStep = { total: totalMs / steps } as TrainBenchResult['msPerStep'];
    for (const p of PHASES) msPerStep[p] = phases[p] / steps;
    return {
      config: shape.name,
      architecture,
      d,
      m,
      batch,
      data: shape.data,
      regime: spec.regime,
      kernel: spec.kernel,
      workers: spec.workers,
      ran: runner.describe(),
      backend: backend.name,
      tokensPerSecond: median(windows),
      windowTokensPerSecond: windows,
      msPerStep,
      l0: l0Sum / steps,
      mainThreadMsPerStep: (runner.mainThreadMs().serial - serial0) / steps,
      timedSteps: steps,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      matMulGflops: backend.capabilities.syncReads ? matMulGflops(batch, d, m) : await matMulGflopsGpu(batch, d, m),
      ...(gpu ? { gpu } : {}),
    };
  } finally {
    await runner.dispose();
    params.dispose();
    adam.dispose();
  }
}
