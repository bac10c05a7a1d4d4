import { copyRow } from '../util/copy-row.js';
import type { Batch, PooledRows } from './types.js';

/** out [rows, d]: row r is row index[r] of the pool. */
export function gatherRows(p: PooledRows, rows: number, d: number, out: Float32Array): Float32Array {
  for (let r = 0; r < rows; r++) copyRow(p.pool, p.index[r]! * d, out, r * d, d);
  return out;
}

/**
 * `base` with its rows in a pool: x is gathered into `into()` at its first read (a consumer that
 * copies the rows itself, such as the training step's worker threads, reads `pooled` instead and
 * never pays for it).
 */
export function withPooledRows(base: Omit<Batch, 'x' | 'pooled'>, pooled: PooledRows, into: () => Float32Array): Batch {
  let x: Float32Array | null = null;
  return {
    rows: base.rows,
    d: base.d,
    rowIds: base.rowIds,
    meta: base.meta,
    pooled,
    get x(): Float32Array {
      return (x ??= gatherRows(pooled, base.rows, base.d, into()));
    },
  };
}
