import * as tf from '../../src/backend/tfjs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { withPooledRows } from '../../src/data/pooled-rows.js';
import type { Batch } from '../../src/data/types.js';
import { createStepEngine, type StepEngine } from '../../src/step/engine.js';
import { StepInput } from '../../src/step/step-input.js';
import { B, d, m, train, viaEngine, type Step, type Trained } from './engines.js';

// The loop hands the engine its batch (StepInput): the workers copy and scale the rows
// themselves, and must train on exactly the tensor x * scale that a formulation here would.

const made: StepEngine[] = [];
beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(async () => {
  await Promise.all(made.map((e) => e.dispose()));
});

const SCALE = 1.37;

/** The rows of `x` as a batch: contiguous, or scattered over a shared pool with spare rows, named by index. */
function batchOf(x: Float32Array, pooled: boolean): Batch {
  const rows = x.length / d;
  const base = { rows, d, rowIds: Float64Array.from({ length: rows }, (_, i) => i), meta: {} };
  if (!pooled) return { ...base, x };
  const pool = new Float32Array(new SharedArrayBuffer(4 * (rows + 7) * d)).fill(Number.NaN);
  const index = Int32Array.from({ length: rows }, (_, r) => (r * 5 + 3) % (rows + 7));
  for (let r = 0; r < rows; r++) pool.set(x.subarray(r * d, (r + 1) * d), index[r]! * d);
  return withPooledRows(base, { pool, index }, () => new Float32Array(rows * d));
}

/** The engine's step given x / scale as the loop's batch (scale: StepInput's), or the tensor x * scale. */
function stepOf(kind: 'sparse' | 'dense', how: 'tensor' | 'contiguous' | 'pooled', scale: number, used: { tensors: number }): Step {
  const engine = createStepEngine({ kind, workers: 2, simd: true, batchSize: B, d, m, sparseCapacity: 1 });
  made.push(engine);
  const inner = viaEngine(engine, () => expect(engine.describe()).toMatch(kind === 'dense' ? /^dense x2 workers$/ : /^sparse x2 workers/));
  const step: Step = async (p, a, x, cfg) => {
    // Values u with fround(u * scale) close to x's; every formulation gets the same u.
    const u = Float32Array.from(x.dataSync() as Float32Array, (v) => v / scale);
    if (how === 'tensor') {
      const t = tf.tidy(() => tf.mul(tf.tensor2d(u, [B, d]), scale) as tf.Tensor2D);
      try {
        return await inner(p, a, t, cfg);
      } finally {
        t.dispose();
      }
    }
    const input = new StepInput(batchOf(u, how === 'pooled'), scale);
    const spy = input.tensor.bind(input);
    input.tensor = () => {
      used.tensors++;
      return spy();
    };
    try {
      return await inner(p, a, input as unknown as tf.Tensor2D, cfg);
    } finally {
      input.dispose();
    }
  };
  step.sync = inner.sync;
  return step;
}

function expectSame(got: Trained, ref: Trained): void {
  expect(got.log).toEqual(ref.log);
  for (const n of ['W_enc', 'b_enc', 'W_dec', 'b_dec'] as const) expect(Array.from(got.weights[n])).toEqual(Array.from(ref.weights[n]));
  got.moments.forEach((v, k) => expect(Array.from(v)).toEqual(Array.from(ref.moments[k]!)));
}

describe('StepInput: the loop batch on the workers', () => {
  for (const kind of ['sparse', 'dense'] as const) {
    it(`${kind} on 2 workers: a contiguous or pooled batch, scaled or not, trains to the bits of the tensor x * scale, and no tensor is made`, async () => {
      for (const scale of [1, SCALE]) {
        const ref = await train(stepOf(kind, 'tensor', scale, { tensors: 0 }), 'april-update', 3, -0.4);
        for (const how of ['contiguous', 'pooled'] as const) {
          const used = { tensors: 0 };
          const got = await train(stepOf(kind, how, scale, used), 'april-update', 3, -0.4);
          expectSame(got, ref);
          expect(used.tensors).toBe(0);
        }
      }
    });
  }

  it('tensor() is x * scale as tf.mul rounds it, made once and freed by dispose()', () => {
    const u = Float32Array.from({ length: 4 * d }, (_, i) => Math.sin(i) * 3);
    const input = new StepInput(batchOf(u, true), SCALE);
    const before = tf.memory().numTensors;
    const t = input.tensor();
    expect(input.tensor()).toBe(t);
    const ref = tf.tidy(() => tf.mul(tf.tensor2d(u, [4, d]), SCALE));
    expect(Array.from(t.dataSync())).toEqual(Array.from(ref.dataSync()));
    ref.dispose();
    input.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
