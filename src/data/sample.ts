import { Rng } from '../util/rng.js';
import { readBlocks, type ReadBlocksOptions } from './dataset.js';
import { RowStore } from './row-store.js';
import { isHeldOut } from './split.js';
import type { Batch, ColumnOptions, DatasetInfo, SplitSpec } from './types.js';

/**
 * A uniform random sample of n training-side rows (reservoir sampling, Vitter's algorithm R),
 * seeded; all of them if there are fewer than n. One pass over the data; memory n rows.
 * Used for the b_dec initialisation and as the resampling scoring pool.
 */
export async function sampleRows(
  ds: DatasetInfo,
  cols: ColumnOptions,
  n: number,
  seed: number,
  split?: SplitSpec,
  read: Pick<ReadBlocksOptions, 'skipBadShards' | 'onWarning'> = {},
): Promise<Batch> {
  const rng = new Rng(`sample-rows:${seed}`);
  const capacity = Math.max(0, Math.min(Math.floor(n), ds.rows));
  const store = new RowStore(capacity, ds.d);
  let seen = 0;
  for await (const b of readBlocks(ds, cols, read)) {
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

/**
 * Each training-side row independently with probability p (seeded), streamed block by block:
 * a random sample of about p x rows with memory of one record batch. Used as the resampling
 * scoring pool, which can be far larger than what should sit in memory at once.
 */
export async function* bernoulliRows(
  ds: DatasetInfo,
  cols: ColumnOptions,
  p: number,
  seed: number,
  split?: SplitSpec,
  read: Pick<ReadBlocksOptions, 'skipBadShards' | 'onWarning'> = {},
): AsyncGenerator<Batch> {
  const rng = new Rng(`bernoulli-rows:${seed}`);
  for await (const b of readBlocks(ds, cols, read)) {
    const keep: number[] = [];
    for (let i = 0; i < b.rows; i++) {
      if (isHeldOut(b.rowIds[i]!, split)) continue;
      if (p >= 1 || rng.next() < p) keep.push(i);
    }
    if (keep.length === 0) continue;
    if (keep.length === b.rows) {
      yield b;
      continue;
    }
    const x = new Float32Array(keep.length * b.d);
    const rowIds = new Float64Array(keep.length);
    keep.forEach((r, k) => {
      x.set(b.x.subarray(r * b.d, (r + 1) * b.d), k * b.d);
      rowIds[k] = b.rowIds[r]!;
    });
    const meta: Batch['meta'] = {};
    if (b.meta.tokenId) meta.tokenId = Int32Array.from(keep, (r) => b.meta.tokenId![r]!);
    if (b.meta.docId) meta.docId = Int32Array.from(keep, (r) => b.meta.docId![r]!);
    if (b.meta.pos) meta.pos = Int32Array.from(keep, (r) => b.meta.pos![r]!);
    if (b.meta.token) meta.token = keep.map((r) => b.meta.token![r]!);
    yield { x, rows: keep.length, d: b.d, rowIds, meta };
  }
}
