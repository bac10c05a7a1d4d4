import * as tf from '../backend/tfjs.js';
import type { StepConfig } from '../step/dense.js';
import type { SaeParams } from '../sae/params.js';
import type { AdamState } from '../step/adam.js';
import type { StepEngine } from '../step/engine.js';
import { readStepStats } from '../train/read-stats.js';
import { disposeStats } from '../step/dense.js';
import { toTensor, type BatchSource } from './bench-data.js';

/**
 * Where a GPU step's time goes. Ops on a GPU return before the work is done, so a step is split
 * at synchronisation points instead of by a host clock between ops: upload (the batch to the
 * GPU), compute (the step until the queue drains) and read (the statistics back to the host).
 * These are profiling steps with extra waits; throughput is measured without them.
 */
export interface GpuPhases {
  uploadMs: number;
  computeMs: number;
  readMs: number;
  /** GPU memory tfjs had allocated at the end (bytes; includes its buffer pool). */
  allocatedBytes: number;
}

/** Wait until the GPU has computed t (a one-scalar read of a reduction of it). */
async function settle(t: tf.Tensor): Promise<void> {
  const s = tf.tidy(() => tf.sum(tf.slice(t.reshape([-1]), [0], [1])));
  await s.data();
  s.dispose();
}

/** Mean phase times over `steps` profiled training steps (they do train: params move on). */
export async function profileGpuSteps(
  runner: StepEngine,
  params: SaeParams,
  adam: AdamState,
  source: BatchSource,
  cfg: StepConfig,
  steps: number,
): Promise<GpuPhases> {
  const sum = { uploadMs: 0, computeMs: 0, readMs: 0 };
  for (let s = 0; s < steps; s++) {
    const host = await source.next();
    const t0 = performance.now();
    const x = toTensor(host, source.d);
    await settle(x);
    const t1 = performance.now();
    const stats = await runner.step(params, adam, x, cfg);
    await settle(params.W_dec);
    const t2 = performance.now();
    await readStepStats(stats);
    const t3 = performance.now();
    disposeStats(stats);
    x.dispose();
    sum.uploadMs += t1 - t0;
    sum.computeMs += t2 - t1;
    sum.readMs += t3 - t2;
  }
  const mem = tf.memory() as tf.MemoryInfo & { numBytesInGPUAllocated?: number };
  return {
    uploadMs: sum.uploadMs / steps,
    computeMs: sum.computeMs / steps,
    readMs: sum.readMs / steps,
    allocatedBytes: mem.numBytesInGPUAllocated ?? mem.numBytes,
  };
}

/**
 * The plain product [rows, k] x [k, n] on a GPU backend in GFLOP/s: `repeats` products queued
 * back to back, one wait at the end (a GPU runs them in order), after one warm-up.
 */
export async function matMulGflopsGpu(rows: number, k: number, n: number, repeats = 5): Promise<number> {
  const a = tf.randomNormal([rows, k], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal([k, n], 0, 1, 'float32', 2) as tf.Tensor2D;
  try {
    const warm = tf.matMul(a, b);
    await settle(warm);
    warm.dispose();
    const t0 = performance.now();
    let c: tf.Tensor | null = null;
    for (let r = 0; r < repeats; r++) {
      c?.dispose();
      c = tf.matMul(a, b);
    }
    await settle(c!);
    const ms = (performance.now() - t0) / repeats;
    c!.dispose();
    return (2 * rows * k * n) / (ms * 1e6);
  } finally {
    a.dispose();
    b.dispose();
  }
}
