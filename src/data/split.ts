import type { SplitSpec } from './types.js';

/**
 * The held-out split by rows: row r is held out iff hash(r, seed) < fraction. It depends only
 * on the global row id, so it is independent of shuffling, batch size and epochs.
 */

/** murmur3's 32-bit finaliser (full avalanche). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform value in [0, 1) for (rowId, seed); rowId may be up to 2^53. */
export function rowHash(rowId: number, seed: number): number {
  const lo = rowId >>> 0;
  const hi = Math.floor(rowId / 4294967296) >>> 0;
  const s = fmix32((seed >>> 0) ^ 0x9e3779b9);
  return fmix32(lo ^ fmix32(hi ^ s)) / 4294967296;
}

export function isHeldOut(rowId: number, split: SplitSpec | undefined): boolean {
  return split !== undefined && split.fraction > 0 && rowHash(rowId, split.seed) < split.fraction;
}

/** Training-side rows among ids [0, rows), capped at maxRows. */
export function trainingRowCount(rows: number, split?: SplitSpec, maxRows?: number): number {
  let n = rows;
  if (split && split.fraction > 0) {
    n = 0;
    for (let r = 0; r < rows; r++) if (rowHash(r, split.seed) >= split.fraction) n++;
  }
  return maxRows !== undefined ? Math.min(n, maxRows) : n;
}
