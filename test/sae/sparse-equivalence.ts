import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { SaeParams, PARAM_NAMES, type SaeWeights } from '../../src/sae/params.js';
import { AdamState } from '../../src/train/adam.js';
import { denseTrainStep, disposeStats, type Recipe, type StepConfig } from '../../src/sae/step.js';
import type { StepKernel } from '../../src/train/kernel.js';
import { maxAbs, maxAbsDiff, randomData, randomWeights } from '../helpers/tensors.js';

/**
 * Weights (seeded) and a step config for the equivalence tests. A negative bEncShift makes f
 * sparse, as after training, so the sparse paths are exercised at low L0 too.
 */
export function tinySetup(d: number, m: number, recipe: Recipe, bEncShift: number): { w: SaeWeights; cfg: StepConfig } {
  const w = randomWeights(d, m, 11);
  for (let i = 0; i < m; i++) w.b_enc[i]! += bEncShift;
  if (recipe === 'april-update') for (let i = 0; i < m * d; i++) w.W_dec[i]! *= 0.3;
  const cfg: StepConfig = {
    recipe,
    lr: 1e-2,
    l1Coefficient: 0.05,
    gradClip: recipe === 'april-update' ? 1 : undefined,
    adam: { beta1: 0.9, beta2: 0.999, eps: 1e-8 },
  };
  return { w, cfg };
}

/**
 * Shared by the cpu, wasm and webgpu test files: train a tiny SAE a few steps with a kernel, on
 * `backend` (default: the current one). Reads are asynchronous, as WebGPU requires.
 */
export async function trainFew(kernel: StepKernel, recipe: Recipe, steps: number, bEncShift = 0, backend?: string) {
  const prev = tf.getBackend();
  if (backend) await tf.setBackend(backend);
  try {
    return await trainFewHere(kernel, recipe, steps, bEncShift);
  } finally {
    if (backend) await tf.setBackend(prev);
  }
}

async function trainFewHere(kernel: StepKernel, recipe: Recipe, steps: number, bEncShift: number) {
  const d = 10;
  const m = 48;
  const B = 37;
  const { w, cfg } = tinySetup(d, m, recipe, bEncShift);
  const params = new SaeParams(w);
  const adam = new AdamState(d, m);
  const before = tf.memory().numTensors;
  const log: { loss: number; l0: number; fired: number[] }[] = [];
  for (let s = 0; s < steps; s++) {
    const x = tf.tensor2d(randomData(B, d, 100 + s), [B, d]);
    const stats = kernel(params, adam, x, cfg);
    const [loss, l0, fired] = await Promise.all([stats.loss.data(), stats.l0.data(), stats.firedCounts.data()]);
    log.push({ loss: loss[0]!, l0: l0[0]!, fired: Array.from(fired) });
    disposeStats(stats);
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }
  const weights = await params.read();
  params.dispose();
  adam.dispose();
  return { weights, log };
}

/**
 * The kernel (on `backend`, default the current one) matches denseTrainStep on the current
 * backend step by step (float32 summation order aside).
 */
export async function expectMatchesDense(kernel: StepKernel, recipe: Recipe, bEncShift: number, backend?: string): Promise<void> {
  const ref = await trainFew(denseTrainStep, recipe, 4, bEncShift);
  const got = await trainFew(kernel, recipe, 4, bEncShift, backend);
  for (let s = 0; s < ref.log.length; s++) {
    expect(got.log[s]!.loss).toBeCloseTo(ref.log[s]!.loss, 4);
    expect(got.log[s]!.l0).toBe(ref.log[s]!.l0);
    expect(got.log[s]!.fired).toEqual(ref.log[s]!.fired);
  }
  expect(ref.log[3]!.l0).toBeGreaterThan(0);
  for (const n of PARAM_NAMES) {
    expect(maxAbsDiff(got.weights[n], ref.weights[n])).toBeLessThan(1e-4 * Math.max(1, maxAbs(ref.weights[n])));
  }
}
