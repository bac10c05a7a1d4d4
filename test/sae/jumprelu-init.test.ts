import { describe, expect, it } from 'vitest';
import { AUTO_THRESHOLD_MAX_ROWS, autoThresholdBlock, autoThresholds } from '../../src/sae/jumprelu-init.js';
import { initWeights } from '../../src/sae/init.js';
import type { SaeWeights } from '../../src/sae/params.js';
import { Rng } from '../../src/util/rng.js';

// initialThreshold 'auto': per-feature thresholds from the init sample, then the encoder's scale.

const d = 6;
const m = 20;
const rows = 300;

function setup(seed: number): { w: SaeWeights; x: Float32Array } {
  const rng = new Rng(seed);
  const b_dec = Float32Array.from({ length: d }, () => rng.normal() * 0.1);
  const w = initWeights(d, m, rng.fork('init'), 1, b_dec);
  // Data of scale ~3 with a mean away from zero, so the fitted scale is far from 1.
  const x = Float32Array.from({ length: rows * d }, (_, i) => 3 * rng.normal() + (i % d) * 0.2);
  return { w, x };
}

/**
 * pre computed the plain way (float64, rounded to float32 as a backend returns it): `flat` feature
 * by feature [m, n] as autoThresholds takes it, `byRow` [n][m].
 */
function preActivations(w: SaeWeights, x: Float32Array, n = rows): { flat: Float32Array; byRow: number[][] } {
  const flat = new Float32Array(n * m);
  const byRow: number[][] = Array.from({ length: n }, () => []);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < m; i++) {
      let s = w.b_enc[i]!;
      for (let j = 0; j < d; j++) s += (x[r * d + j]! - w.b_dec[j]!) * w.W_enc[j * m + i]!;
      flat[i * n + r] = s;
      byRow[r]!.push(Math.fround(s));
    }
  }
  return { flat, byRow };
}

/** sum_r ||x_r - b_dec - s f_r W_dec||^2 with f the unscaled encoding at the unscaled thresholds. */
function reconstructionLoss(w: SaeWeights, x: Float32Array, pre: number[][], theta: number[], s: number): number {
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < d; j++) {
      let rec = 0;
      for (let i = 0; i < m; i++) if (pre[r]![i]! > theta[i]!) rec += pre[r]![i]! * w.W_dec[i * d + j]!;
      loss += (x[r * d + j]! - w.b_dec[j]! - s * rec) ** 2;
    }
  }
  return loss;
}

/** A block provider over the whole preT [m, n], as the trainer's tfjs one hands them out. */
const blocks = (flat: Float32Array, n = rows) => async (first: number, count: number) => flat.slice(first * n, (first + count) * n);

describe('autoThresholds', () => {
  it('every feature fires on exactly the asked number of rows, and the encoder scale is the least-squares one', async () => {
    const { w, x } = setup(1);
    const fires = 12;
    const { flat, byRow: pre } = preActivations(w, x);
    const { theta, encoderScale } = await autoThresholds(w, x, rows, fires, blocks(flat), m);
    expect(theta).toHaveLength(m);
    // The thresholds come scaled with the encoder: pre x s > theta  <=>  pre > theta / s.
    const unscaled = Array.from(theta, (t) => t / encoderScale);
    for (let i = 0; i < m; i++) {
      const count = pre.filter((row) => row[i]! > unscaled[i]!).length;
      expect(count, `feature ${i}`).toBe(fires);
      expect(theta[i]!).toBeGreaterThan(0);
    }
    // Unit decoder rows and W_enc = W_dec^T overshoot: the fitted scale shrinks the encoder.
    expect(encoderScale).toBeGreaterThan(0);
    expect(encoderScale).toBeLessThan(1);
    const at = (s: number) => reconstructionLoss(w, x, pre, unscaled, s);
    expect(at(encoderScale)).toBeLessThan(at(encoderScale * 1.01));
    expect(at(encoderScale)).toBeLessThan(at(encoderScale * 0.99));
    expect(at(encoderScale)).toBeLessThan(at(1));
    // Blocks of any size give the same thresholds and scale (up to the order of float64 sums).
    const inSevens = await autoThresholds(w, x, rows, fires, blocks(flat), 7);
    expect(Array.from(inSevens.theta, (t) => t / inSevens.encoderScale)).toEqual(unscaled.map((u) => expect.closeTo(u, 5)));
    expect(inSevens.encoderScale).toBeCloseTo(encoderScale, 10);
  });

  it('a feature with too few positive pre-activations fires on all of them; one with none gets a tiny positive threshold', async () => {
    const { w, x } = setup(2);
    w.b_enc[3] = -1e3; // feature 3: never positive
    const { flat, byRow: pre } = preActivations(w, x);
    // Feature 5: positive on only 4 rows (its 4 largest, lifted just above zero).
    const col5 = pre.map((row) => row[5]!);
    const lift = -[...col5].sort((a, b) => b - a)[4]!;
    w.b_enc[5]! += lift - 1e-3;
    const lifted = preActivations(w, x);
    const { theta, encoderScale } = await autoThresholds(w, x, rows, 30, blocks(lifted.flat), m);
    expect(theta[3]!).toBeGreaterThan(0);
    // A millionth of its largest |pre| (~1e3 here): positive, and far below where it could ever fire.
    expect(theta[3]! / encoderScale).toBeLessThan(2e-3);
    expect(lifted.byRow.filter((row) => row[5]! > 0).length).toBe(4);
    expect(lifted.byRow.filter((row) => row[5]! > theta[5]! / encoderScale).length).toBe(4);
    expect(Number.isFinite(Math.log(theta[3]!))).toBe(true);
    expect(flat).toHaveLength(m * rows);
  });

  it('degenerate inputs keep the encoder as it is; a block of the wrong size is an internal error', async () => {
    const { w } = setup(3);
    const zeros = new Float32Array(rows * d);
    w.b_dec.fill(0);
    const { theta, encoderScale } = await autoThresholds(w, zeros, rows, 5, blocks(preActivations(w, zeros).flat), m);
    expect(encoderScale).toBe(1);
    for (const t of theta) expect(t).toBeGreaterThan(0);
    expect((await autoThresholds(w, zeros, 1, 5, blocks(preActivations(w, zeros, 1).flat, 1), m)).theta).toHaveLength(m);
    await expect(autoThresholds(w, zeros, rows, 5, async () => new Float32Array(7), m)).rejects.toThrow(/came back with 7 values/);
  });

  it('takes features in blocks of at most 2^24 pre-activations', () => {
    expect(autoThresholdBlock(4096, 1024)).toBe(1024);
    expect(autoThresholdBlock(4096, 8192)).toBe(4096);
    expect(autoThresholdBlock(4096, 65536)).toBe(4096);
    expect(autoThresholdBlock(2 ** 25, 10)).toBe(1);
    expect(AUTO_THRESHOLD_MAX_ROWS).toBe(4096);
  });
});
