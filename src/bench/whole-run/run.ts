/**
 * `npm run bench -- --whole-run`: whole training runs from initialisation through the library's
 * `train()` (data path, dense start, sparse steady state, resampling, checkpoints, final
 * statistics), split into the steps each formulation ran, next to the PyTorch peer on the same
 * data, steps, batch and width (torch-peer.ts).
 */
import fs from 'node:fs';
import type { BackendChoice } from '../../backend/choices.js';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, validateConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { readBlocks, scanDataset } from '../../data/dataset.js';
import { SYNTH_DEFAULTS } from '../../data/synth/synth.js';
import { writeSynthetic } from '../../data/synth/write.js';
import { writeNpyFile } from '../../io/npy.js';
import { readRunInfo } from '../../io/run-dir.js';
import { readRunConfig, train } from '../../train/trainer.js';
import type { StepTiming } from '../../train/progress.js';
import { DEFAULT_COLUMNS } from '../bench-data.js';

/** A whole run to time: how to make its config (and its data, when generated). */
export interface WholeRunCase {
  name: string;
  /** What it is, one line. */
  what: string;
  /** The run's config in `dir` (generating its data there first), or a reason it cannot run here. */
  prepare(dir: string, steps: number | null): Promise<Config | { skip: string }>;
}

/** Steps and seconds of the steps one formulation ran. */
export interface KernelShare {
  steps: number;
  seconds: number;
}

export interface WholeRunResult {
  name: string;
  d: number;
  m: number;
  batch: number;
  steps: number;
  /** train() from call to return: planning, initialisation, the loop, the final evaluation and statistics. */
  wallSeconds: number;
  /** The training loop: first step start to last step end, resampling and checkpoints included. */
  loopSeconds: number;
  /** steps x batch / loopSeconds. */
  tokensPerSecond: number;
  /** Per formulation ('dense' / 'sparse', any thread count). */
  dense: KernelShare;
  sparse: KernelShare;
  /** Loop time outside the steps: resampling, checkpoints. */
  otherSeconds: number;
  /** First step the sparse formulation ran (null: never). */
  firstSparseStep: number | null;
  /** What ran the last step (e.g. 'sparse x2 workers (simd)'). */
  lastKernel: string;
  /** The backend the run trained on, with its GPU where it had one ('webgpu on NVIDIA H200 (nvidia, hopper)'). */
  backend: string;
  /** L0 of each of the first 100 steps. */
  l0FirstSteps: number[];
  /** The L0 coefficient and the resampling the run used (the peer gets the same). */
  l1: number;
  lr: number;
  resample: { every: number; until: number; pool: number } | null;
  /** The training data the peer reads (.npy, [rows, d]). */
  npy: string;
}

const repoRoot = (): string => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Synthetic superposition data of width d (m/2 ground-truth features, 16 active per row), trained at width m. */
function synthetic(name: string, d: number, m: number, batch: number, defaultSteps: number, rows: number): WholeRunCase {
  return {
    name,
    what: `generated data, d=${d}, m=${m}, batch ${batch}, ${rows} rows`,
    async prepare(dir, steps) {
      const data = path.join(dir, 'data');
      await writeSynthetic({ ...SYNTH_DEFAULTS, rows, evalRows: Math.min(rows, 8192), features: Math.max(16, m / 2), dim: d, active: 16, seed: 0, blockRows: 4096, out: data, force: true });
      const total = steps ?? defaultSteps;
      return validateConfig(
        {
          data: { train: path.join(data, 'activations.arrow'), eval: path.join(data, 'eval.arrow') },
          sae: { width: m },
          train: { steps: total, batchSize: batch, logEvery: Math.max(1, Math.floor(total / 10)) },
          resample: { every: Math.max(1, Math.floor(total / 4)), until: 0.5, samples: Math.min(rows, 65536) },
          output: { dir: path.join(dir, 'runs'), name, checkpointEverySteps: 0, checkpointEveryMinutes: 0, statsRows: 8192 },
        },
        dir,
        `whole-run case ${name}`,
      );
    },
  };
}

/** The configs/stories260k.json preset on the real activations it names (absent on a fresh clone: skipped). */
const stories260k: WholeRunCase = {
  name: 'stories260k',
  what: 'configs/stories260k.json on the real stories260K layer-2 activations',
  async prepare(dir, steps) {
    const { config } = loadConfig(path.join(repoRoot(), 'configs', 'stories260k.json'));
    const missing = config.data.train.find((f) => !fs.existsSync(f));
    if (missing) return { skip: `${missing} is not here (the shared data folder beside the repository)` };
    return {
      ...config,
      train: { ...config.train, ...(steps ? { steps } : {}) },
      output: { ...config.output, dir: path.join(dir, 'runs'), name: 'stories260k' },
    };
  },
};

/** The runs `--whole-run` knows; B and stories260k by default, tiny for tests. */
export const WHOLE_RUN_CASES: Record<string, WholeRunCase> = {
  B: synthetic('B', 512, 8192, 4096, 300, 65536),
  stories260k,
  tiny: synthetic('tiny', 16, 64, 256, 40, 4096),
};

/** The training rows of a config as one .npy [rows, d] (what the peer reads). */
export async function writeTrainingNpy(config: Config, file: string): Promise<{ rows: number; d: number }> {
  const ds = await scanDataset(config.data.train, DEFAULT_COLUMNS);
  const x = new Float32Array(ds.rows * ds.d);
  let at = 0;
  for await (const b of readBlocks(ds, DEFAULT_COLUMNS)) {
    x.set(b.x.subarray(0, b.rows * ds.d), at);
    at += b.rows * ds.d;
  }
  writeNpyFile(file, x.subarray(0, at), [at / ds.d, ds.d], '<f4');
  return { rows: at / ds.d, d: ds.d };
}

/** Sum the steps of a run into the dense/sparse split (pure; `loopSeconds` measured by the caller). */
export function splitByKernel(steps: StepTiming[], loopSeconds: number): Pick<WholeRunResult, 'dense' | 'sparse' | 'otherSeconds' | 'firstSparseStep' | 'l0FirstSteps'> {
  const dense: KernelShare = { steps: 0, seconds: 0 };
  const sparse: KernelShare = { steps: 0, seconds: 0 };
  let firstSparseStep: number | null = null;
  for (const s of steps) {
    const share = s.kernel.startsWith('sparse') ? sparse : dense;
    share.steps++;
    share.seconds += s.seconds;
    if (share === sparse) firstSparseStep ??= s.step;
  }
  return {
    dense,
    sparse,
    otherSeconds: Math.max(0, loopSeconds - dense.seconds - sparse.seconds),
    firstSparseStep,
    l0FirstSteps: steps.slice(0, 100).map((s) => s.l0),
  };
}

/** One whole run of `c` in a fresh folder under `dir`; null (with the reason logged) when it cannot run here. */
export async function runWholeRun(
  c: WholeRunCase,
  dir: string,
  steps: number | null,
  log: (line: string) => void,
  backend?: BackendChoice,
  workers?: number,
): Promise<WholeRunResult | null> {
  fs.mkdirSync(dir, { recursive: true });
  const ready = await c.prepare(dir, steps);
  if ('skip' in ready) {
    log(`whole run ${c.name}: skipped: ${ready.skip}`);
    return null;
  }
  const prepared: Config = {
    ...ready,
    ...(backend ? { runtime: { ...ready.runtime, backend } } : {}),
    ...(workers !== undefined ? { train: { ...ready.train, workers } } : {}),
  };
  const npy = path.join(dir, 'train.npy');
  await writeTrainingNpy(prepared, npy);
  const timings: StepTiming[] = [];
  let tFirst = 0;
  let tLast = 0;
  const t0 = performance.now();
  const result = await train(
    { config: prepared, force: true },
    {
      onLog: (l) => log(`  ${l}`),
      onStep: (s) => {
        tLast = performance.now();
        if (timings.length === 0) tFirst = tLast - s.seconds * 1000;
        timings.push(s);
      },
    },
  );
  const wallSeconds = (performance.now() - t0) / 1000;
  const loopSeconds = (tLast - tFirst) / 1000;
  // The resolved config (sae.l1 'auto' is written there) and the resampling schedule the run used.
  const cfg = readRunConfig(result.runDir);
  const info = readRunInfo(result.runDir);
  const batch = cfg.train.batchSize;
  const r = cfg.resample;
  return {
    name: c.name,
    d: info.d,
    m: info.m,
    batch,
    steps: result.steps,
    wallSeconds,
    loopSeconds,
    tokensPerSecond: (result.steps * batch) / loopSeconds,
    ...splitByKernel(timings, loopSeconds),
    lastKernel: timings.at(-1)?.kernel ?? '',
    backend: info.device ? `${info.backend} on ${info.device}` : info.backend,
    l1: cfg.sae.l1 as number,
    lr: cfg.train.lr,
    resample: r.enabled && r.steps === undefined ? resampleForPeer(r, result.steps, info.trainRows) : null,
    npy,
  };
}

/** The trainer's every/until defaults (resample/schedule.ts) in the peer's terms (until as a fraction). */
function resampleForPeer(r: Config['resample'], steps: number, trainRows: number): WholeRunResult['resample'] {
  const until = r.until ?? 0.5;
  return { every: r.every ?? Math.max(1, Math.round(steps / 8)), until: until > 1 ? until / steps : until, pool: Math.min(r.samples ?? 819_200, trainRows) };
}

/** A fresh scratch folder for whole runs (the caller removes it). */
export function wholeRunScratch(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sae-whole-run-'));
}
