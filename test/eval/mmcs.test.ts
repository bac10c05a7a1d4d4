import { describe, it, expect } from 'vitest';
import { cosineMatrix, matchedMeanAbsCosine, maxCosinePerRow, scoreGroundTruth } from '../../src/eval/mmcs.js';
import { randomUnitDirections } from '../../src/data/synth/synth.js';
import { Rng } from '../../src/util/rng.js';

const d = 32;
const G = 24;
const gt = randomUnitDirections(G, d, new Rng(11));

/** Rows of `src` in the order `order`, each scaled by scale(i). */
function reorder(src: Float32Array, order: ArrayLike<number>, scale: (i: number) => number): Float32Array {
  const out = new Float32Array(order.length * d);
  for (let i = 0; i < order.length; i++) for (let k = 0; k < d; k++) out[i * d + k] = src[order[i]! * d + k]! * scale(i);
  return out;
}

describe('cosineMatrix', () => {
  it('matches a hand computation', () => {
    const a = Float32Array.from([1, 0, 3, 4]); // rows (1,0), (3,4)
    const b = Float32Array.from([0, 2, 1, 1]); // rows (0,2), (1,1)
    const c = cosineMatrix(a, 2, b, 2, 2);
    expect(c[0]).toBeCloseTo(0, 12);
    expect(c[1]).toBeCloseTo(Math.SQRT1_2, 12);
    expect(c[2]).toBeCloseTo(0.8, 12);
    expect(c[3]).toBeCloseTo(7 / 5 / Math.SQRT2, 7);
    expect(Array.from(maxCosinePerRow(c, 2, 2))).toEqual([c[1], c[3]]);
  });
});

describe('ground-truth scores', () => {
  it('a permuted, rescaled copy with extra rows scores 1', () => {
    const rng = new Rng(5);
    const perm = rng.shuffle(Array.from({ length: G }, (_, i) => i));
    const copy = reorder(gt, perm, (i) => 0.5 + i); // cosine ignores row norms
    const extra = randomUnitDirections(8, d, rng);
    const dict = new Float32Array([...copy, ...extra]);
    const s = scoreGroundTruth(gt, G, dict, G + 8, d);
    expect(s.mmcs).toBeCloseTo(1, 6);
    expect(s.matchedMeanAbsCosine).toBeCloseTo(1, 6);
    expect(s.recovered099).toBe(G);
    expect(s.recoveredFraction090).toBe(1);
  });

  it('a sign-flipped copy: matching and |cos| score 1, signed MMCS does not', () => {
    const order = Array.from({ length: G }, (_, i) => (i * 7) % G);
    const dict = reorder(gt, order, (i) => (i % 2 === 0 ? -1 : 1));
    const s = scoreGroundTruth(gt, G, dict, G, d);
    expect(s.matchedMeanAbsCosine).toBeCloseTo(1, 6);
    expect(s.mmcsAbs).toBeCloseTo(1, 6);
    expect(s.mmcs).toBeLessThan(0.8);
    expect(s.recovered099).toBe(G / 2);
  });

  it('a random dictionary scores low', () => {
    const dict = randomUnitDirections(2 * G, d, new Rng(99));
    const s = scoreGroundTruth(gt, G, dict, 2 * G, d);
    expect(s.mmcs).toBeLessThan(0.6);
    expect(s.matchedMeanAbsCosine).toBeLessThan(s.mmcsAbs + 1e-12);
    expect(s.recovered090).toBe(0);
  });

  it('matching is one-to-one: a dictionary with one row repeated cannot match every feature', () => {
    const dict = reorder(gt, new Array(G).fill(0), () => 1);
    const s = scoreGroundTruth(gt, G, dict, G, d);
    expect(s.mmcs).toBeLessThan(0.2); // only feature 0 is represented
    // Every matching pairs each true feature with a copy of row 0: the score is mean_i |cos(g_i, g_0)|.
    const cos = cosineMatrix(gt, G, dict, G, d);
    let expected = 0;
    for (let i = 0; i < G; i++) expected += Math.abs(cos[i * G]!) / G;
    expect(matchedMeanAbsCosine(cos, G, G)).toBeCloseTo(expected, 9);
    expect(expected).toBeLessThan(0.35);
  });

  it('with fewer learned rows than true features, unmatched features count as 0', () => {
    const dict = reorder(gt, [3, 5], () => 1);
    const cos = cosineMatrix(gt, G, dict, 2, d);
    const v = matchedMeanAbsCosine(cos, G, 2);
    expect(v).toBeGreaterThanOrEqual(2 / G - 1e-9);
    expect(v).toBeLessThan(2 / G + 1e-6);
  });
});
