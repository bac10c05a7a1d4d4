/**
 * Hand-made resampling scenarios shared by the cpu and wasm tests (not a test file itself).
 * d = 3, m = 5; features 1 and 3 dead. Alive encoder columns 0, 2, 4 have norms 1, 2, 3 (mean 2),
 * so a resampled encoder column has norm 0.2 x 2 = 0.4. b_enc = -100 keeps every feature off on
 * the pool, so x_hat = b_dec and each input's loss is ||x - b_dec||^2.
 */
import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'vitest';
import type { Batch } from '../../src/data/types.js';
import { PARAM_NAMES, SaeParams, type SaeWeights } from '../../src/sae/params.js';
import { AdamState } from '../../src/step/adam.js';
import { resampleDead } from '../../src/resample/resample.js';
import { Rng } from '../../src/util/rng.js';

export const d = 3;
export const m = 5;

export function handWeights(): SaeWeights {
  // W_enc [d, m] row-major: column j is (W[0][j], W[1][j], W[2][j]).
  const W_enc = Float32Array.from([
    1, 0.5, 0, 0.7, 0,
    -0, 0.5, 2, -0.7, 0,
    0, 0.5, 0, -0, -3,
  ]);
  const W_dec = Float32Array.from([1, -0, 0, -0, 0.6, 0.8, 0, 1, 0, 0.6, -0, 0.8, 0, 0, -1]);
  return { d, m, W_enc, b_enc: Float32Array.from([-100, -100, -100, -100, -100]), W_dec, b_dec: Float32Array.from([0.5, 0, 0]) };
}

export function batch(rows: number[][], rowIds?: number[]): Batch {
  return {
    x: Float32Array.from(rows.flat()),
    rows: rows.length,
    d: rows[0]!.length,
    rowIds: Float64Array.from(rowIds ?? rows.map((_, i) => 100 + i)),
    meta: { tokenId: Int32Array.from(rows.map((_, i) => 7 * i)), token: rows.map((_, i) => `t${i}`) },
  };
}

/** Non-zero Adam moments, with a -0 among the untouched entries (bit-identity check). */
export function filledAdam(seed: number): AdamState {
  const adam = new AdamState(d, m);
  const rng = new Rng(seed);
  const fill = (n: number) => {
    const a = rng.fillNormal(new Float32Array(n));
    a[0] = -0;
    return a;
  };
  const mk = () => ({ W_enc: fill(d * m), b_enc: fill(m), W_dec: fill(m * d), b_dec: fill(d) });
  adam.restore({ t: 7, m: mk(), v: mk() });
  return adam;
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

/** Run the scenario and check steps 4-6 entry by entry. */
export async function checkHandCase(centre: boolean): Promise<void> {
  const w = handWeights();
  const params = new SaeParams(w);
  const adam = filledAdam(5);
  const read = (t: tf.Tensor) => t.data() as Promise<Float32Array>;
  const adamBefore = { m: await Promise.all(PARAM_NAMES.map((n) => read(adam.m[n]))), v: await Promise.all(PARAM_NAMES.map((n) => read(adam.v[n]))) };
  // Row 0 has no direction (all zero, or equal to b_dec when centring): never drawn. Rows 1 and 2 are the only candidates, so with
  // two dead features both are drawn, in an order the rng picks.
  const pool = batch([
    centre ? [0.5, 0, 0] : [0, 0, 0],
    [3, 4, 0],
    [0.5, 0, -2],
  ]);
  const before = tf.memory().numTensors;
  const res = await resampleDead(params, adam, Int32Array.from([1, 3]), pool, new Rng(11), { encoderScale: 0.2, centre });
  expect(tf.memory().numTensors).toBe(before);

  expect(Array.from(res.indices)).toEqual([1, 3]);
  expect(res.mode).toBe('loss-squared');
  expect(res.draws.map((r) => r.rowId).sort()).toEqual([101, 102]);
  expect(res.encoderNorm).toBeCloseTo(2, 6);
  expect(res.aliveFeatures).toBe(3);
  expect(res.pool!.rows).toBe(3);
  expect(res.pool!.excluded).toBe(1);
  // loss = ||x - b_dec||^2 with b_dec = (0.5, 0, 0).
  const lossOf: Record<number, number> = { 100: centre ? 0 : 0.25, 101: 2.5 ** 2 + 16, 102: 4 };
  for (const r of res.draws) {
    expect(r.loss).toBeCloseTo(lossOf[r.rowId]!, 5);
    expect(r.tokenId).toBe(7 * (r.rowId - 100));
    expect(r.token).toBe(`t${r.rowId - 100}`);
  }
  expect(res.pool!.mse).toBeCloseTo((lossOf[100]! + 22.25 + 4) / 3, 5);

  const after = await params.read();
  const W_dec = after.W_dec;
  const W_enc = after.W_enc;
  res.draws.forEach((r, k) => {
    const f = res.indices[k]!;
    const x = pool.x.subarray((r.rowId - 100) * d, (r.rowId - 99) * d);
    const v = Array.from(x, (xi, j) => xi - (centre ? w.b_dec[j]! : 0));
    const norm = Math.sqrt(v.reduce((s, vj) => s + vj * vj, 0));
    for (let j = 0; j < d; j++) {
      // Step 4: decoder row = unit direction; step 5: encoder column = it x 0.2 x mean alive norm.
      expect(W_dec[f * d + j]).toBe(Math.fround(v[j]! / norm));
      expect(W_enc[j * m + f]).toBe(Math.fround(Math.fround(v[j]! / norm) * (0.2 * res.encoderNorm)));
      expect(Math.abs(W_enc[j * m + f]! - (0.4 * v[j]!) / norm)).toBeLessThan(1e-6);
    }
    expect(after.b_enc[f]).toBe(0);
  });
  // Untouched features: bit-identical (including the -0 entries).
  const untouched = [0, 2, 4];
  for (const f of untouched) {
    expect(bits(W_dec.slice(f * d, f * d + d))).toEqual(bits(w.W_dec.slice(f * d, f * d + d)));
    for (let j = 0; j < d; j++) expect(Object.is(W_enc[j * m + f], w.W_enc[j * m + f])).toBe(true);
    expect(after.b_enc[f]).toBe(-100);
  }
  expect(bits(after.b_dec)).toEqual(bits(w.b_dec));

  // Step 6: Adam moments zero exactly at the modified entries, bit-identical elsewhere.
  const modified = (name: string, i: number): boolean => {
    if (name === 'W_dec') return [1, 3].includes(Math.floor(i / d));
    if (name === 'W_enc') return [1, 3].includes(i % m);
    if (name === 'b_enc') return [1, 3].includes(i);
    return false;
  };
  for (const which of ['m', 'v'] as const) {
    const nowAll = await Promise.all(PARAM_NAMES.map((n) => read(adam[which][n])));
    PARAM_NAMES.forEach((n, p) => {
      const now = nowAll[p]!;
      const was = adamBefore[which][p]!;
      for (let i = 0; i < now.length; i++) {
        if (modified(n, i)) expect(Object.is(now[i], 0)).toBe(true);
        else expect(Object.is(now[i], was[i])).toBe(true);
      }
    });
  }
  expect(adam.t).toBe(7);
  params.dispose();
  adam.dispose();
}
