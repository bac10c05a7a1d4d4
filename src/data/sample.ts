import { Rng } from '../util/rng.js';
import { readBlocks } from './dataset.js';
import { RowStore } from './row-store.js';
import { isHeldOut } from './split.js';
import type { Batch, ColumnOptions, DatasetInfo, SplitSpec } from './types.js';

/**
 * A uniform random sample of n training-side rows (reservoir sampling, Vitter's algorithm R),
 * seeded; all of them if there are fewer than n. One pass over the data; memory n rows.
 * Used for the b_dec initialisation and as the resampling scoring pool.
 */
export async function sampleRows(ds: DatasetInfo, cols: ColumnOptions, n: number, seed: number, split?: SplitSpec): Promise<Batch> {
  const rng = new Rng(`sample-rows:${seed}`);
  const capacity = Math.max(0, Math.min(Math.floor(n), ds.rows));
  const store = new RowStore(capacity, ds.d);
  let seen = 0;
  for await (const b of readBlocks(ds, cols)) {
    store.noteBlock(b.meta);
    for (let i = 0; i < b.rows; i++) {
      if (isHeldOut(b.rowIds[i]!, split)) continue;
      if (seen < capacity) store.put(seen, b, i);
      else {
        const j = rng.int(seen + 1);
        if (j < capacity) store.put(j, b, i);
      }
      seen++;
    }
  }
  return store.toBatch(Math.min(seen, capacity));
}
