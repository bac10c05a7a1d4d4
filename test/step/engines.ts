import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'vitest';
import type { StepArchitecture, StepStats } from '../../src/sae/gradients.js';
import { PARAM_NAMES, SaeParams, type SaeWeights } from '../../src/sae/params.js';
import { recipeFor, type RecipeName } from '../../src/sae/recipe.js';
import { AdamState } from '../../src/step/adam.js';
import { denseTrainStep, disposeStats, type StepConfig } from '../../src/step/dense.js';
import { createStepEngine, type StepEngine, type StepEngineOptions } from '../../src/step/engine.js';
import { maxAbs, maxAbsDiff, randomData, randomWeights } from '../helpers/tensors.js';

/** The tiny SAE every equivalence test trains: d, m, batch rows. */
export const d = 10;
export const m = 48;
export const B = 37;

export const RECIPE_NAMES: RecipeName[] = ['towards-monosemanticity', 'april-update'];

/**
 * Weights (seeded) and a step config for the equivalence tests. A negative bEncShift makes f
 * sparse, as after training, so the sparse paths are exercised at low L0 too.
 */
export function tinySetup(dIn: number, width: number, recipe: RecipeName, bEncShift: number): { w: SaeWeights; cfg: StepConfig } {
  const w = randomWeights(dIn, width, 11);
  for (let i = 0; i < width; i++) w.b_enc[i]! += bEncShift;
  if (recipe === 'april-update') for (let i = 0; i < width * dIn; i++) w.W_dec[i]! *= 0.3;
  const cfg: StepConfig = { recipe: recipeFor(recipe), lr: 1e-2, l1Coefficient: 0.05, adam: { beta1: 0.9, beta2: 0.999, eps: 1e-8 } };
  return { w, cfg };
}

/** A step; `sync`, where present, brings params and adam up to date with state an engine holds elsewhere (its workers). */
export type Step = ((params: SaeParams, adam: AdamState, x: tf.Tensor2D, cfg: StepConfig) => Promise<StepStats>) & { sync?: () => Promise<void> };

/** An engine's step, with its sync. */
export function viaEngine(engine: StepEngine, after?: () => void): Step {
  const step: Step = async (p, a, x, cfg) => {
    const stats = await engine.step(p, a, x, cfg);
    after?.();
    return stats;
  };
  step.sync = () => engine.sync();
  return step;
}

/** The reference formulation (step/dense.ts). */
export const reference: Step = async (p, a, x, c) => denseTrainStep(p, a, x, c);

export interface Trained {
  weights: SaeWeights;
  log: { loss: number; l0: number; mse: number; fired: number[] }[];
  /** Adam's second moments after the last step, per parameter. */
  moments: Float32Array[];
}

/**
 * Train the tiny SAE `steps` steps with `step`; asserts no tensor is left behind by any step.
 * Reads are asynchronous, as WebGPU requires.
 */
export async function train(
  step: Step,
  recipe: RecipeName,
  steps: number,
  bEncShift: number,
  between?: (p: SaeParams, s: number) => void,
  arch?: StepArchitecture,
): Promise<Trained> {
  const { w, cfg: base } = tinySetup(d, m, recipe, bEncShift);
  // jumprelu: thresholds between 0.05 and 1, so that many entries of pre fall near theirs.
  if (arch?.jumprelu) w.log_threshold = Float32Array.from({ length: m }, (_, i) => Math.log(0.05 + (0.95 * ((i * 37) % m)) / m));
  // TopK / BatchTopK (architecture.ts): no L1 term.
  const cfg: StepConfig = arch ? { ...base, l1Coefficient: 0, arch } : base;
  const params = new SaeParams(w);
  const adam = new AdamState(d, m, { logThreshold: arch?.jumprelu !== undefined });
  const log: Trained['log'] = [];
  for (let s = 0; s < steps; s++) {
    const x = tf.tensor2d(randomData(B, d, 100 + s), [B, d]);
    const before = tf.memory().numTensors;
    const stats = await step(params, adam, x, cfg);
    const [loss, mse, l0, fired] = await Promise.all([stats.loss.data(), stats.mse.data(), stats.l0.data(), stats.firedCounts.data()]);
    log.push({ loss: loss[0]!, mse: mse[0]!, l0: l0[0]!, fired: Array.from(fired) });
    disposeStats(stats);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    if (between) {
      await step.sync?.();
      between(params, s);
    }
  }
  await step.sync?.();
  const weights = await params.read();
  const moments = await Promise.all(adam.names().map(async (n) => (await adam.v[n]!.data()) as Float32Array));
  params.dispose();
  adam.dispose();
  return { weights, log, moments };
}

/** Step by step the same statistics, and the same weights and moments at the end, float32 summation order aside. */
export function expectClose(got: Trained, ref: Trained, moments = true): void {
  for (let s = 0; s < ref.log.length; s++) {
    expect(got.log[s]!.loss).toBeCloseTo(ref.log[s]!.loss, 4);
    expect(got.log[s]!.l0).toBe(ref.log[s]!.l0);
    expect(got.log[s]!.fired).toEqual(ref.log[s]!.fired);
  }
  for (const n of PARAM_NAMES) {
    expect(maxAbsDiff(got.weights[n], ref.weights[n])).toBeLessThan(1e-4 * Math.max(1, maxAbs(ref.weights[n])));
  }
  // jumprelu's thresholds (their moments are the last of `moments`).
  if (ref.weights.log_threshold) expect(maxAbsDiff(got.weights.log_threshold!, ref.weights.log_threshold)).toBeLessThan(1e-4 * Math.max(1, maxAbs(ref.weights.log_threshold)));
  expect(got.moments.length).toBe(ref.moments.length);
  if (moments) got.moments.forEach((v, k) => expect(maxAbsDiff(v, ref.moments[k]!)).toBeLessThan(1e-4 * Math.max(1e-6, maxAbs(ref.moments[k]!))));
}

/** An engine of the table: how the factory is asked for it, and what describe() must say it ran. */
export interface EngineCase {
  name: string;
  options: Pick<StepEngineOptions, 'kind' | 'workers' | 'simd'> & Partial<StepEngineOptions>;
  ran: RegExp;
}

/** Every formulation besides the reference, as the factory makes them (workers' buffers hold every entry). */
export const ENGINES: EngineCase[] = [
  { name: 'sparse, one thread', options: { kind: 'sparse', workers: 0, simd: false }, ran: /^sparse$/ },
  { name: 'auto, one thread', options: { kind: 'auto', workers: 0, simd: false }, ran: /^(dense|sparse)$/ },
  { name: 'sparse, 1 worker, SIMD loops', options: { kind: 'sparse', workers: 1, simd: true }, ran: /^sparse x1 workers \(simd\)$/ },
  { name: 'auto, 1 worker', options: { kind: 'auto', workers: 1, simd: true }, ran: /^(dense|sparse) x1 workers/ },
  { name: 'sparse, 2 workers, SIMD loops', options: { kind: 'sparse', workers: 2, simd: true }, ran: /^sparse x2 workers \(simd\)$/ },
  { name: 'sparse, 3 workers, SIMD loops', options: { kind: 'sparse', workers: 3, simd: true }, ran: /^sparse x3 workers \(simd\)$/ },
  { name: 'sparse, 2 workers, JavaScript loops', options: { kind: 'sparse', workers: 2, simd: false }, ran: /^sparse x2 workers \(js\)$/ },
  { name: 'dense, 2 workers', options: { kind: 'dense', workers: 2, simd: true }, ran: /^dense x2 workers$/ },
  { name: 'auto, 2 workers', options: { kind: 'auto', workers: 2, simd: true }, ran: /^(dense|sparse) x2 workers/ },
];

const made: StepEngine[] = [];

/** A step through a fresh engine of the case; checks after every step that it ran the formulation asked for. */
export function engineStep(c: EngineCase, options: Partial<StepEngineOptions> = {}, ran: string[] = []): Step {
  const engine = createStepEngine({ batchSize: B, d, m, sparseCapacity: 1, ...c.options, ...options });
  made.push(engine);
  return viaEngine(engine, () => {
    ran.push(engine.describe());
    expect(engine.describe()).toMatch(c.ran);
  });
}

const pooled = new Map<string, StepEngine>();

/**
 * A step through one engine per case, reused across calls (worker pools take seconds to start):
 * for kind 'sparse', whose engine keeps no choice between models; the pool takes each new
 * model's state on its first step (parallel-step.ts).
 */
export function pooledStep(c: EngineCase): Step {
  if (c.options.kind !== 'sparse') throw new Error(`pooledStep: ${c.name} keeps choices between runs`);
  let engine = pooled.get(c.name);
  if (!engine) {
    engine = createStepEngine({ batchSize: B, d, m, sparseCapacity: 1, ...c.options });
    pooled.set(c.name, engine);
    made.push(engine);
  }
  const e = engine;
  return viaEngine(e, () => expect(e.describe()).toMatch(c.ran));
}

/** Stop every engine made by engineStep (afterAll). */
export async function disposeEngines(): Promise<void> {
  pooled.clear();
  await Promise.all(made.splice(0).map((e) => e.dispose()));
}

/** The reference step on `backend` (e.g. webgpu) matches the reference on the current backend over 4 steps (statistics and weights). */
export async function expectReferenceMatchesOn(backend: string, recipe: RecipeName, bEncShift: number): Promise<void> {
  const ref = await train(reference, recipe, 4, bEncShift);
  const prev = tf.getBackend();
  await tf.setBackend(backend);
  let got: Trained;
  try {
    got = await train(reference, recipe, 4, bEncShift);
  } finally {
    await tf.setBackend(prev);
  }
  expectClose(got, ref, false);
}
