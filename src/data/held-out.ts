import { readBlocks, type ReadBlocksOptions } from './dataset.js';
import { RowStore } from './row-store.js';
import { rowHash } from './split.js';
import type { Batch, ColumnOptions, DatasetInfo, SplitSpec } from './types.js';

/**
 * The held-out rows (hash(rowId, seed) < fraction), in file order, one Batch per record batch
 * that holds any. The training stream (BatchStream with the same split) never sees them.
 */
export async function* readHeldOut(ds: DatasetInfo, cols: ColumnOptions, split: SplitSpec, opts: ReadBlocksOptions = {}): AsyncGenerator<Batch> {
  if (!(split.fraction > 0)) return;
  for await (const b of readBlocks(ds, cols, opts)) {
    const keep: number[] = [];
    for (let i = 0; i < b.rows; i++) if (rowHash(b.rowIds[i]!, split.seed) < split.fraction) keep.push(i);
    if (keep.length === 0) continue;
    if (keep.length === b.rows) {
      yield b;
      continue;
    }
    const store = new RowStore(keep.length, b.d);
    store.noteBlock(b.meta);
    keep.forEach((i, slot) => store.put(slot, b, i));
    yield store.toBatch(keep.length);
  }
}
