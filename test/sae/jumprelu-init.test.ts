import { describe, expect, it } from 'vitest';
import { AUTO_THRESHOLD_MAX_ROWS, autoThresholdRows, autoThresholds } from '../../src/sae/jumprelu-init.js';
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

describe('autoThresholds', () => {
  it('every feature fires on exactly the asked number of rows, and the encoder scale is the least-squares one', () => {
    const { w, x } = setup(1);
    const fires = 12;
    const { flat, byRow: pre } = preActivations(w, x);
    const { theta, encoderScale } = autoThresholds(w, x, flat, rows, fires);
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
  });

  it('a feature that rarely has a positive pre-activation gets a small positive threshold', () => {
    const { w, x } = setup(2);
    w.b_enc[3] = -1e3; // feature 3: never positive
    const { theta, encoderScale } = autoThresholds(w, x, preActivations(w, x).flat, rows, 30);
    expect(theta[3]!).toBeGreaterThan(0);
    expect(theta[3]! / encoderScale).toBeLessThan(0.1);
    expect(Number.isFinite(Math.log(theta[3]!))).toBe(true);
  });

  it('degenerate inputs keep the encoder as it is', () => {
    const { w } = setup(3);
    const zeros = new Float32Array(rows * d);
    w.b_dec.fill(0);
    const { theta, encoderScale } = autoThresholds(w, zeros, preActivations(w, zeros).flat, rows, 5);
    expect(encoderScale).toBe(1);
    for (const t of theta) expect(t).toBeGreaterThan(0);
    expect(autoThresholds(w, zeros, preActivations(w, zeros, 1).flat, 1, 5).theta).toHaveLength(m);
    expect(() => autoThresholds(w, zeros, new Float32Array(7), rows, 5)).toThrow(/preT holds 7 values/);
  });

  it('uses at most 4096 rows, fewer where the width is large (at most 2^25 pre-activations, at least 256 rows)', () => {
    expect(autoThresholdRows(100, 1024)).toBe(100);
    expect(autoThresholdRows(8192, 8192)).toBe(AUTO_THRESHOLD_MAX_ROWS);
    expect(autoThresholdRows(8192, 65536)).toBe(512);
    expect(autoThresholdRows(8192, 2 ** 20)).toBe(256);
  });
});
