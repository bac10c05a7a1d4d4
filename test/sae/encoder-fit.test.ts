import { describe, expect, it } from 'vitest';
import { fitRowBlock, fitTopKEncoderScale, scaleOf } from '../../src/sae/encoder-fit.js';
import { initWeights } from '../../src/sae/init.js';
import type { SaeWeights } from '../../src/sae/params.js';
import { Rng } from '../../src/util/rng.js';

// sae.encoderInit 'fit': the encoder's scale that makes the step-0 TopK / BatchTopK reconstruction least-squares right.

const d = 6;
const m = 24;
const rows = 120;
const k = 3;

function setup(seed: number): { w: SaeWeights; x: Float32Array; pre: number[][] } {
  const rng = new Rng(seed);
  const w = initWeights(d, m, rng.fork('init'), 1, Float32Array.from({ length: d }, () => rng.normal() * 0.1));
  const x = Float32Array.from({ length: rows * d }, (_, i) => 3 * rng.normal() + (i % d) * 0.2);
  const pre: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const row: number[] = [];
    for (let i = 0; i < m; i++) {
      let s = w.b_enc[i]!;
      for (let j = 0; j < d; j++) s += (x[r * d + j]! - w.b_dec[j]!) * w.W_enc[j * m + i]!;
      row.push(Math.fround(s));
    }
    pre.push(row);
  }
  return { w, x, pre };
}

/** Row blocks as the trainer's tfjs provider hands them out: pre [count, m]. */
const blocks = (pre: number[][]) => async (first: number, count: number) => Float32Array.from(pre.slice(first, first + count).flat());

/** sum_r ||x_r - b_dec - s f_r W_dec||^2 with f selected by `keep` (row, feature) at the unscaled encoder. */
function loss(w: SaeWeights, x: Float32Array, pre: number[][], keep: (r: number, i: number) => boolean, s: number): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < d; j++) {
      let rec = 0;
      for (let i = 0; i < m; i++) if (keep(r, i)) rec += pre[r]![i]! * w.W_dec[i * d + j]!;
      total += (x[r * d + j]! - w.b_dec[j]! - s * rec) ** 2;
    }
  }
  return total;
}

function expectLeastSquares(f: (s: number) => number, s: number): void {
  expect(f(s)).toBeLessThan(f(s * 1.01));
  expect(f(s)).toBeLessThan(f(s * 0.99));
  expect(f(s)).toBeLessThan(f(1));
}

describe('fitTopKEncoderScale', () => {
  it('TopK: the least-squares scale of the k largest positive pre-activations of each row, whatever the row blocks', async () => {
    const { w, x, pre } = setup(1);
    const s = await fitTopKEncoderScale(w, x, rows, k, false, blocks(pre), 1000);
    // Unit decoder rows and W_enc = W_dec^T overshoot: the fit shrinks the encoder.
    expect(s).toBeGreaterThan(0);
    expect(s).toBeLessThan(1);
    const cuts = pre.map((row) => Math.max(0, [...row].sort((a, b) => b - a)[k]!));
    expectLeastSquares((v) => loss(w, x, pre, (r, i) => pre[r]![i]! > cuts[r]!, v), s);
    expect(await fitTopKEncoderScale(w, x, rows, k, false, blocks(pre), 7)).toBeCloseTo(s, 12);
  });

  it('BatchTopK: the k x n largest of each block of n rows, as one training batch selects', async () => {
    const { w, x, pre } = setup(2);
    const s = await fitTopKEncoderScale(w, x, rows, k, true, blocks(pre), rows);
    const cut = Math.max(0, pre.flat().sort((a, b) => b - a)[k * rows]!);
    expectLeastSquares((v) => loss(w, x, pre, (r, i) => pre[r]![i]! > cut, v), s);
    // Another block size selects per block: a different (still least-squares) fit.
    const halves = await fitTopKEncoderScale(w, x, rows, k, true, blocks(pre), rows / 2);
    const halfCut = (from: number) => Math.max(0, pre.slice(from, from + rows / 2).flat().sort((a, b) => b - a)[(k * rows) / 2]!);
    const cuts = [halfCut(0), halfCut(rows / 2)];
    expectLeastSquares((v) => loss(w, x, pre, (r, i) => pre[r]![i]! > cuts[r < rows / 2 ? 0 : 1]!, v), halves);
  });

  it('degenerate data keeps the encoder; a block of the wrong size is an internal error', async () => {
    const { w } = setup(3);
    w.b_dec.fill(0);
    const zeros = new Float32Array(rows * d);
    const pre = Array.from({ length: rows }, () => new Array<number>(m).fill(0));
    expect(await fitTopKEncoderScale(w, zeros, rows, k, false, blocks(pre), 50)).toBe(1);
    await expect(fitTopKEncoderScale(w, zeros, rows, k, false, async () => new Float32Array(5), 50)).rejects.toThrow(/came back with 5 values/);
    expect(scaleOf(-1, 2)).toBe(1);
    expect(scaleOf(1, 0)).toBe(1);
    expect(scaleOf(1, 4)).toBe(0.25);
    expect(fitRowBlock(1024)).toBe(16384);
    expect(fitRowBlock(2 ** 25)).toBe(1);
  });
});
