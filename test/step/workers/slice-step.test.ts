import * as tf from '../../../src/backend/tfjs.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/backend/select.js';
import { planLayout } from '../../../src/step/workers/layout.js';
import { WorkerPool } from '../../../src/step/workers/pool.js';
import { planSelection } from '../../../src/step/workers/selection.js';
import type { SliceStepRequest } from '../../../src/step/workers/slice-step.js';
import { StepSync } from '../../../src/step/workers/step-sync.js';

// The one-message step's failure path on real worker threads (its arithmetic against the
// reference is in test/step/equivalence.test.ts, through ParallelStep).

beforeAll(async () => {
  await initBackend('wasm');
});

describe('SliceStep on worker threads', () => {
  it('a worker that fails mid-step releases the others from the barrier: they answer `aborted`, its error is the step\'s', async () => {
    const B = 16;
    const d = 8;
    const m = 12;
    const { layout, arena } = planLayout(B, d, m, 2, 0.5);
    const sync = StepSync.create(2);
    const pool = new WorkerPool(2, () => sync.abort());
    try {
      await pool.all((k) => ({ kind: 'init', memory: arena.memory, layout, slice: k, backend: tf.getBackend(), simd: true, stepSync: sync.buffer }));
      // A TopK step for which only worker 0 holds a selection buffer: worker 1 passes the first
      // barrier (centre), then fails writing its candidates while worker 0 waits at the next.
      const sel = planSelection(B, d, [6, 6], 2, 0);
      await pool.call(0, { kind: 'selection', buffer: new SharedArrayBuffer(sel.bytes), layout: sel });
      const req: SliceStepRequest = {
        rows: B,
        input: { pooled: false, scale: 1 },
        dense: false,
        select: { kind: 'topk', k: 2 },
        l1Coefficient: 0,
        penalty: 'l1',
        project: false,
        clip: null,
        adam: { t: 1, lr: 1e-3, hyper: { beta1: 0.9, beta2: 0.999, eps: 1e-8 } },
        screen: true,
      };
      sync.reset();
      const [r0, r1] = await Promise.allSettled([pool.call(0, { kind: 'step', ...req }), pool.call(1, { kind: 'step', ...req })]);
      expect(r0).toMatchObject({ status: 'fulfilled', value: { kind: 'step', aborted: true } });
      expect(r1.status).toBe('rejected');
      expect(((r1 as PromiseRejectedResult).reason as Error).message).toMatch(/^worker 1: /);
      // `every` waits for both, then gives the failure.
      sync.reset();
      await expect(pool.every(() => ({ kind: 'step', ...req }))).rejects.toThrow(/^worker 1: /);
    } finally {
      await pool.dispose();
    }
  });

  it('aborts the step of the others when a worker exits (the pool calls onFailure)', async () => {
    let failures = 0;
    const pool = new WorkerPool(2, () => failures++);
    await pool.dispose();
    expect(failures).toBeGreaterThan(0);
  });
});
