import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { FiringTracker, indicesOf } from '../../src/train/firing.js';
import { Rng } from '../../src/util/rng.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('FiringTracker', () => {
  it('calls a feature dead once it has not fired for a full window', () => {
    const t = new FiringTracker(3);
    t.update(1, [1, 0, 0]);
    t.update(2, [0, 2, 0]);
    // Window 2 at step 2 covers steps 1-2: feature 2 never fired, but only 2 steps have passed.
    expect(Array.from(t.deadMask(2, 2))).toEqual([0, 0, 1]);
    expect(Array.from(t.deadMask(2, 3))).toEqual([0, 0, 0]);
    t.update(3, [0, 0, 0]);
    expect(Array.from(t.deadIndices(3, 2))).toEqual([0, 2]);
    expect(t.deadFraction(3, 2)).toBeCloseTo(2 / 3);
    t.reset([0, 2], 3);
    expect(Array.from(t.deadIndices(4, 2))).toEqual([1]);
    expect(Array.from(t.deadIndices(5, 2))).toEqual([0, 1, 2]);
  });

  it('matches a naive scan of the firing history', () => {
    const m = 20;
    const rng = new Rng(3);
    const t = new FiringTracker(m);
    const history: number[][] = [];
    for (let step = 1; step <= 60; step++) {
      const fired = Array.from({ length: m }, (_, i) => (rng.next() < 0.02 * (i % 7) ? 1 + rng.int(3) : 0));
      history.push(fired);
      t.update(step, fired);
      for (const window of [1, 5, 17]) {
        const naive = Array.from({ length: m }, (_, i) => {
          if (step < window) return 0;
          for (let s = step - window + 1; s <= step; s++) if (history[s - 1]![i]! > 0) return 0;
          return 1;
        });
        expect(Array.from(t.deadMask(step, window))).toEqual(naive);
      }
    }
  });

  it('round-trips through a JSON snapshot', () => {
    const t = new FiringTracker(4);
    t.update(5, [0, 1, 0, 3]);
    const r = FiringTracker.restore(JSON.parse(JSON.stringify(t.snapshot())));
    expect(Array.from(r.deadMask(9, 4))).toEqual(Array.from(t.deadMask(9, 4)));
    expect(r.lastFiredAt(3)).toBe(5);
    expect(() => FiringTracker.restore({ m: 3, lastFired: [1] })).toThrow();
  });
});

describe('indicesOf', () => {
  it('indicesOf lists the set entries in order', () => {
    expect(Array.from(indicesOf([0, 1, 1, 0, 1]))).toEqual([1, 2, 4]);
  });
});
