import { InternalError } from '../errors.js';

/** A minimum-cost assignment of every row to a distinct column. */
export interface Assignment {
  /** Column assigned to each row.  [rows] */
  rowToCol: Int32Array;
  /** Sum of the assigned costs. */
  cost: number;
}

/**
 * Minimum-cost one-to-one assignment for a rectangular cost matrix (rows <= cols), by the
 * Kuhn-Munkres (Hungarian) algorithm with row/column potentials and shortest augmenting paths,
 * O(rows^2 cols). cost [rows, cols], row-major.
 */
export function hungarian(cost: Float64Array | Float32Array, rows: number, cols: number): Assignment {
  if (rows > cols) throw new InternalError(`hungarian: ${rows} rows > ${cols} columns; transpose the matrix`);
  if (cost.length !== rows * cols) throw new InternalError(`hungarian: cost has ${cost.length} entries, expected ${rows * cols}`);
  // 1-based arrays; index 0 of p/way is the virtual column holding the row being inserted.
  const u = new Float64Array(rows + 1);
  const v = new Float64Array(cols + 1);
  const p = new Int32Array(cols + 1); // p[j]: row matched to column j (0: none)
  const way = new Int32Array(cols + 1);
  const minv = new Float64Array(cols + 1);
  const used = new Uint8Array(cols + 1);
  for (let i = 1; i <= rows; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      const rowOff = (i0 - 1) * cols - 1;
      const ui0 = u[i0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= cols; j++) {
        if (used[j]) continue;
        const cur = cost[rowOff + j]! - ui0 - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      if (j1 === 0) throw new InternalError('hungarian: no augmenting column (non-finite costs?)');
      for (let j = 0; j <= cols; j++) {
        if (used[j]) {
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else {
          minv[j]! -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const rowToCol = new Int32Array(rows).fill(-1);
  let total = 0;
  for (let j = 1; j <= cols; j++) {
    const i = p[j]!;
    if (i > 0) {
      rowToCol[i - 1] = j - 1;
      total += cost[(i - 1) * cols + j - 1]!;
    }
  }
  return { rowToCol, cost: total };
}
