import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { parseFeatureSelection, selectFeatures, unitNormDecoder } from '../../src/io/dictionary-select.js';
import { reconstruct } from '../helpers/load-export.js';
import { maxAbs, maxAbsDiff, randomData, randomWeights } from '../helpers/tensors.js';

describe('parseFeatureSelection', () => {
  it('parses indices and inclusive ranges, sorted and de-duplicated', () => {
    expect(Array.from(parseFeatureSelection('0-3,10, 2 ,7-7', 16))).toEqual([0, 1, 2, 3, 7, 10]);
    expect(Array.from(parseFeatureSelection('15', 16))).toEqual([15]);
  });

  it('rejects out-of-range, reversed and malformed entries with a clear message', () => {
    expect(() => parseFeatureSelection('0-16', 16)).toThrow("--features: '0-16' is outside 0-15 (the dictionary has 16 features).");
    expect(() => parseFeatureSelection('5-2', 16)).toThrow(/ends before it starts/);
    expect(() => parseFeatureSelection('a', 16)).toThrow(ConfigError);
    expect(() => parseFeatureSelection('1,,2', 16)).toThrow(/'' is not an index or a range/);
    expect(() => parseFeatureSelection('-3', 16)).toThrow(ConfigError);
  });
});

describe('selectFeatures', () => {
  it('picks encoder columns, decoder rows and biases', () => {
    const w = randomWeights(3, 5, 9);
    const s = selectFeatures(w, Int32Array.from([1, 4]));
    expect(s.m).toBe(2);
    for (let r = 0; r < 3; r++) {
      expect(s.W_enc[r * 2 + 0]).toBe(w.W_enc[r * 5 + 1]);
      expect(s.W_enc[r * 2 + 1]).toBe(w.W_enc[r * 5 + 4]);
    }
    expect(Array.from(s.W_dec.subarray(3, 6))).toEqual(Array.from(w.W_dec.subarray(12, 15)));
    expect(Array.from(s.b_enc)).toEqual([w.b_enc[1], w.b_enc[4]]);
    expect(Array.from(s.b_dec)).toEqual(Array.from(w.b_dec));
  });
});

describe('unitNormDecoder', () => {
  it('gives unit decoder rows and leaves reconstructions unchanged', () => {
    const w = randomWeights(8, 24, 5);
    // Give rows varied norms (and one zero row) so the rescaling does real work.
    for (let i = 0; i < w.m; i++) for (let j = 0; j < w.d; j++) w.W_dec[i * w.d + j]! *= i === 3 ? 0 : 0.2 + 0.3 * i;
    const x = randomData(40, 8, 6);
    const before = reconstruct(w, x, 40);
    const u = unitNormDecoder(w);
    for (let i = 0; i < w.m; i++) {
      let s = 0;
      for (let j = 0; j < w.d; j++) s += u.W_dec[i * w.d + j]! ** 2;
      expect(Math.sqrt(s)).toBeCloseTo(i === 3 ? 0 : 1, 5);
    }
    const after = reconstruct(u, x, 40);
    expect(maxAbsDiff(after, before)).toBeLessThan(1e-4 * Math.max(1, maxAbs(before)));
    expect(w.W_dec[4 * w.d]).not.toBe(u.W_dec[4 * w.d]); // the input is not modified in place
  });
});
