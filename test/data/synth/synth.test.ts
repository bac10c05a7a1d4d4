import { describe, it, expect } from 'vitest';
import { SYNTH_DEFAULTS, SynthGenerator, featureProbabilities, normalCdf, type SynthOptions } from '../../../src/data/synth/synth.js';
import { ConfigError } from '../../../src/errors.js';

function opts(over: Partial<SynthOptions>): SynthOptions {
  return { ...SYNTH_DEFAULTS, rows: 4096, ...over };
}

/** Drain a generator; returns all rows and per-row active counts. */
function drain(g: SynthGenerator): { x: Float32Array; counts: Int32Array } {
  const xs: Float32Array[] = [];
  const cs: Int32Array[] = [];
  for (let b = g.nextBlock(); b; b = g.nextBlock()) {
    xs.push(b.x);
    cs.push(b.activeCount);
  }
  const x = new Float32Array(xs.reduce((a, v) => a + v.length, 0));
  let o = 0;
  for (const v of xs) x.set(v, (o += v.length) - v.length);
  return { x, counts: Int32Array.from(cs.flatMap((c) => Array.from(c))) };
}

describe('featureProbabilities', () => {
  it('decays geometrically and sums to the mean active count', () => {
    const p = featureProbabilities(512, 5, 0.99);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(5, 10);
    expect(p[1]! / p[0]!).toBeCloseTo(0.99, 12);
    expect(p[511]! / p[0]!).toBeCloseTo(0.99 ** 511, 12);
    const flat = featureProbabilities(10, 2, 1);
    expect(Array.from(flat)).toEqual(new Array(10).fill(0.2));
  });

  it('refuses probabilities above 1 with a ConfigError', () => {
    expect(() => featureProbabilities(4, 5, 1)).toThrow(ConfigError);
  });
});

describe('normalCdf', () => {
  it('matches known values', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959963985)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.158655254, 6);
  });
});

describe('SynthGenerator', () => {
  it('has unit-norm ground-truth directions', () => {
    const g = new SynthGenerator(opts({ features: 64, dim: 32, rows: 1 }));
    for (let i = 0; i < 64; i++) {
      let s = 0;
      for (let k = 0; k < 32; k++) s += g.groundTruth[i * 32 + k]! ** 2;
      expect(Math.sqrt(s)).toBeCloseTo(1, 5);
    }
  });

  it('default statistics: ~5 active per row, geometric decay of frequency', () => {
    const g = new SynthGenerator(opts({ rows: 20000, blockRows: 3000 }));
    const { x, counts } = drain(g);
    expect(x.length).toBe(20000 * 256);
    expect(counts.length).toBe(20000);
    const mean = counts.reduce((a, b) => a + b, 0) / 20000;
    expect(mean).toBeGreaterThan(4.9); // standard error ~0.016
    expect(mean).toBeLessThan(5.1);
    expect(g.activeTotal).toBe(mean * 20000);
    // Frequency of features 0-49 vs 100-149: expected ratio 0.99^-100 = 2.73.
    let a = 0, b = 0;
    for (let j = 0; j < 50; j++) {
      a += g.featureCounts[j]!;
      b += g.featureCounts[100 + j]!;
    }
    expect(a / b).toBeGreaterThan(2.73 * 0.92);
    expect(a / b).toBeLessThan(2.73 * 1.08);
    // Empty rows: P(no feature) = prod (1 - p_j) ~ e^-5.
    expect(g.emptyRows / 20000).toBeCloseTo(Math.exp(-5), 2);
  });

  it('magnitudes are products of two uniforms (E = 1/4, E[c^2] = 1/9)', () => {
    // One feature, always active, in one dimension: x = c * (+-1).
    const g = new SynthGenerator(opts({ features: 1, dim: 1, active: 1, rows: 40000 }));
    const { x } = drain(g);
    let s1 = 0, s2 = 0;
    for (const v of x) {
      s1 += Math.abs(v);
      s2 += v * v;
    }
    expect(s1 / x.length).toBeCloseTo(0.25, 2);
    expect(s2 / x.length).toBeCloseTo(1 / 9, 2);
  });

  it('is deterministic per seed and block size does not change the dictionary', () => {
    const a = drain(new SynthGenerator(opts({ seed: 3 }))).x;
    const b = drain(new SynthGenerator(opts({ seed: 3 }))).x;
    const c = drain(new SynthGenerator(opts({ seed: 4 }))).x;
    const same = (u: Float32Array, v: Float32Array) => Buffer.from(u.buffer).equals(Buffer.from(v.buffer));
    expect(same(a, b)).toBe(true);
    expect(same(a, c)).toBe(false);
    expect(new SynthGenerator(opts({ seed: 3, blockRows: 17 })).groundTruth).toEqual(new SynthGenerator(opts({ seed: 3 })).groundTruth);
  });

  it('adds isotropic noise of the requested std on top of the same codes', () => {
    const clean = drain(new SynthGenerator(opts({ rows: 2000, seed: 8 }))).x;
    const noisy = drain(new SynthGenerator(opts({ rows: 2000, seed: 8, noise: 0.05 }))).x;
    let s = 0, s2 = 0;
    for (let i = 0; i < clean.length; i++) {
      const e = noisy[i]! - clean[i]!;
      s += e;
      s2 += e * e;
    }
    expect(Math.abs(s / clean.length)).toBeLessThan(0.001);
    expect(Math.sqrt(s2 / clean.length)).toBeCloseTo(0.05, 3);
  });

  it('correlated: keeps the mean active count and makes per-block frequencies co-vary', () => {
    const blockRows = 500;
    const g = new SynthGenerator(opts({ rows: 40 * blockRows, blockRows, correlated: true, features: 64, dim: 16, active: 4, decay: 1 }));
    const perBlock: Float64Array[] = [];
    let total = 0;
    for (let b = g.nextBlock(); b; b = g.nextBlock()) {
      perBlock.push(Float64Array.from(g.featureCounts));
      total += b.activeCount.reduce((a, v) => a + v, 0);
    }
    expect(total / g.rowsDone).toBeGreaterThan(3.8);
    expect(total / g.rowsDone).toBeLessThan(4.2);
    // Per-block counts of one feature vary far more than Binomial(500, 1/16) would (var ~29).
    const c0 = perBlock.map((c, i) => c[0]! - (i > 0 ? perBlock[i - 1]![0]! : 0));
    const mu = c0.reduce((a, v) => a + v, 0) / c0.length;
    const varc = c0.reduce((a, v) => a + (v - mu) ** 2, 0) / (c0.length - 1);
    expect(varc).toBeGreaterThan(3 * 29);
  });
});
