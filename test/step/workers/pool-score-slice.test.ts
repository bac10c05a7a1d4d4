import { describe, expect, it } from 'vitest';
import { activate } from '../../../src/step/workers/pool-score-slice.js';

describe('activate (a slice\'s activation for resampling\'s scores)', () => {
  // Two rows of a slice of 3 features starting at feature 10.
  const pre = () => Float32Array.from([0.5, -1, 0.2, 0, 0.3, 2]);
  const out = () => ({ rowPtr: new Int32Array(3), col: new Int32Array(6), val: new Float32Array(6) });

  it('ReLU: keeps pre > 0 in place and as compressed rows with global feature indices', () => {
    const p = pre();
    const o = out();
    expect(activate(p, 2, 3, 10, null, o, 6)).toEqual({ count: 4, fits: true });
    expect(Array.from(p)).toEqual([0.5, 0, Math.fround(0.2), 0, Math.fround(0.3), 2]);
    expect(Array.from(o.rowPtr)).toEqual([0, 2, 4]);
    expect(Array.from(o.col.subarray(0, 4))).toEqual([10, 12, 11, 12]);
    expect(Array.from(o.val.subarray(0, 4))).toEqual([0.5, Math.fround(0.2), Math.fround(0.3), 2]);
  });

  it('JumpReLU: against each feature\'s threshold (strictly above)', () => {
    const p = pre();
    const o = out();
    expect(activate(p, 2, 3, 0, Float32Array.from([0.5, 0, 0.25]), o, 6)).toEqual({ count: 2, fits: true });
    expect(Array.from(p)).toEqual([0, 0, 0, 0, Math.fround(0.3), 2]);
    expect(Array.from(o.col.subarray(0, 2))).toEqual([1, 2]);
  });

  it('over the limit: says so, and f is still complete in place for the dense decode', () => {
    const p = pre();
    const o = out();
    expect(activate(p, 2, 3, 0, null, o, 3)).toEqual({ count: 4, fits: false });
    expect(Array.from(p)).toEqual([0.5, 0, Math.fround(0.2), 0, Math.fround(0.3), 2]);
  });
});
