import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/errors.js';
import type { MetricsRecord } from '../../src/io/run-layout.js';
import type { ResampleResult } from '../../src/resample/resample.js';
import { ResampleMonitor } from '../../src/resample/monitor.js';

const m = 6;
const fire = (...features: number[]) => Array.from({ length: m }, (_, i) => (features.includes(i) ? 1 : 0));

function result(indices: number[]): ResampleResult {
  return {
    indices: Int32Array.from(indices),
    draws: indices.map((f) => ({ poolIndex: f, rowId: 500 + f, loss: f + 1, tokenId: 3 })),
    mode: 'loss-squared',
    pool: null,
    drawnLoss: null,
    encoderNorm: 0.5,
    aliveFeatures: m - indices.length,
    scoredOn: 'this thread',
  };
}

const before: MetricsRecord = {
  step: 10, tokens: 640, lr: 1e-3, l1Coefficient: 5e-3, loss: 2, mse: 1.5, l1: 100,
  explainedVariance: 0.7, l0: 12, deadFraction: 0.5, tokensPerSecond: 1000, elapsedSeconds: 3,
};

describe('ResampleMonitor', () => {
  it('follows resampled features through their window, to the next event and the end', () => {
    const mon = new ResampleMonitor(m, 3);
    expect(mon.afterStep(10, fire())).toEqual([]);
    const e0 = mon.onEvent(10, Int32Array.from([1, 2, 4]), result([1, 2, 4]), { deadFraction: 0.5, before });
    expect(e0).toMatchObject({ type: 'event', step: 10, event: 0, dead: 3, resampled: 3, indices: [1, 2, 4], deadWindow: 3, previousEvent: null });
    expect(e0.draws[1]).toMatchObject({ feature: 2, rowId: 502, loss: 3, tokenId: 3 });
    expect(e0.before).toMatchObject({ step: 10, loss: 2, explainedVariance: 0.7 });

    expect(mon.afterStep(11, fire(2, 0))).toEqual([]);
    expect(mon.afterStep(12, fire())).toEqual([]);
    const [w0] = mon.afterStep(13, fire());
    expect(w0).toMatchObject({ type: 'window', step: 13, event: 0, eventStep: 10, resampled: 3, revived: 1, notRevivedIndices: [1, 4], complete: true });
    expect(mon.afterStep(14, fire(4))).toEqual([]);
    expect(mon.afterStep(15, fire())).toEqual([]);
    // At step 16, feature 1 (never fired) is dead again; 4 fired late, 2 revived and stayed alive.
    const e1 = mon.onEvent(16, Int32Array.from([1, 5]), result([1, 5]), { deadFraction: 2 / 6, before: null });
    expect(e1.previousEvent).toEqual({ event: 0, eventStep: 10, resampled: 3, deadAgain: 1, deadAgainIndices: [1], stayedAlive: 1 });
    expect(e1.event).toBe(1);

    const snap = JSON.parse(JSON.stringify(mon.snapshot()));
    const twin = ResampleMonitor.restore(snap, m, 3);
    for (const mo of [mon, twin]) expect(mo.afterStep(17, fire(5))).toEqual([]);

    const early = twin.finish(18);
    expect(early).toEqual([
      { type: 'window', version: 1, step: 18, event: 1, eventStep: 16, resampled: 2, revived: 1, notRevivedIndices: [1], complete: false },
      { type: 'end', version: 1, step: 18, event: 1, eventStep: 16, resampled: 2, deadAtEnd: null, deadAtEndIndices: [], stayedAlive: null },
    ]);

    expect(mon.afterStep(18, fire())).toEqual([]);
    expect(mon.afterStep(19, fire())).toMatchObject([{ type: 'window', revived: 1, complete: true }]);
    expect(mon.afterStep(20, fire())).toEqual([]);
    // Step 20: feature 5 last fired at 17 (3 steps ago: dead), feature 1 never.
    expect(mon.finish(20)).toEqual([
      { type: 'end', version: 1, step: 20, event: 1, eventStep: 16, resampled: 2, deadAtEnd: 2, deadAtEndIndices: [1, 5], stayedAlive: 0 },
    ]);
    expect(mon.finish(21)).toEqual([]);
  });

  it('records an event with nothing dead, which closes the previous one', () => {
    const mon = new ResampleMonitor(m, 2);
    mon.onEvent(5, Int32Array.from([0]), result([0]), { deadFraction: 1 / 6, before: null });
    mon.afterStep(6, fire(0));
    const e = mon.onEvent(10, new Int32Array(0), null, { deadFraction: 0, before: null });
    expect(e).toMatchObject({ dead: 0, resampled: 0, indices: [], draws: [], mode: null, pool: null });
    expect(e.previousEvent).toMatchObject({ deadAgain: 0, stayedAlive: 1 });
    expect(mon.finish(12)).toEqual([]);
  });

  it('refuses a damaged snapshot', () => {
    expect(() => ResampleMonitor.restore({ events: 1, tracked: { indices: [9], lastFired: [1], notRevived: null } }, m, 3)).toThrow(CheckpointError);
    expect(() => ResampleMonitor.restore(null, m, 3)).toThrow(CheckpointError);
  });
});
