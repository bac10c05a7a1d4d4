import { DataError } from '../errors.js';
import { resolveInputs } from './inputs.js';
import { openShard, readShard } from './shard.js';
import type { Batch, ColumnOptions, DatasetInfo, ShardInfo } from './types.js';

/** Resolve the inputs, open every shard and check they agree (width) and hold data. */
export async function scanDataset(patterns: string[], cols: ColumnOptions): Promise<DatasetInfo> {
  const files = resolveInputs(patterns);
  const shards: ShardInfo[] = [];
  for (const f of files) shards.push(await openShard(f, cols));
  return datasetOf(shards);
}

/** Combine opened shards into a DatasetInfo (checks width agreement and non-emptiness). */
export function datasetOf(shards: ShardInfo[]): DatasetInfo {
  let d = 0;
  let from = '';
  let rows = 0;
  for (const s of shards) {
    rows += s.rows;
    if (s.rows === 0) continue;
    if (d === 0) {
      d = s.d;
      from = s.path;
    } else if (s.d !== d) {
      throw new DataError(
        `${s.path}: activation width ${s.d}, but ${from} has width ${d}.`,
        'All inputs must come from the same model and layer; drop the odd shard.',
      );
    }
  }
  if (rows === 0 || d === 0) {
    const list = shards.map((s) => s.path).join(', ');
    throw new DataError(`the input holds no activation rows (${list}).`, 'Check that the export wrote data (every record batch is empty).');
  }
  return { shards, d, rows, metadata: shards[0]?.metadata ?? {} };
}

export interface ReadBlocksOptions {
  /** Skip a shard that fails while being read (after a warning) instead of stopping. */
  skipBadShards?: boolean;
  onWarning?: (message: string) => void;
  /** Internal: false lets `inspect` see NaN/Inf rows instead of failing on them. */
  checkFinite?: boolean;
  /** Read into one buffer for all shards: a block is valid only until the next is asked for (ReadShardOptions.readBuffer). */
  reuseBuffer?: boolean;
}

/**
 * The dataset in file order, one Batch per record batch. Row ids are global: a shard's ids
 * start after all rows of the shards before it (skipped shards keep their id range).
 * A shard that fails part-way has already yielded its earlier record batches.
 */
export async function* readBlocks(ds: DatasetInfo, cols: ColumnOptions, opts: ReadBlocksOptions = {}): AsyncGenerator<Batch> {
  let first = 0;
  const readBuffer = opts.reuseBuffer ? { bytes: null } : undefined;
  for (const shard of ds.shards) {
    try {
      for await (const b of readShard(shard, cols, first, { checkFinite: opts.checkFinite ?? true, expectD: ds.d, ...(readBuffer ? { readBuffer } : {}) })) {
        yield { x: b.x, rows: b.rows, d: b.d, rowIds: b.rowIds, meta: b.meta };
      }
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      if (!opts.skipBadShards) {
        throw new DataError(
          err.message,
          `${err.hint ? err.hint + ' ' : ''}To skip a corrupt shard with a warning instead, set data.skipBadShards=true.`,
        );
      }
      opts.onWarning?.(`skipping ${shard.path}: ${err.message}`);
    }
    first += shard.rows;
  }
}
