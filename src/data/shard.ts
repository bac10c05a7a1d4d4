import type { Data, Schema } from 'apache-arrow';
import { DataError, describeError, ToolkitError } from '../errors.js';
import { planColumn, extractRows, firstNonFiniteRow, type ColumnPlan } from './column.js';
import { arrowSchema, decodeBatch } from './arrow/decode-batch.js';
import { IpcFile, type MessageRef } from './arrow/file.js';
import { HEADER_RECORD_BATCH } from './arrow/meta.js';
import { extractMeta } from './meta-columns.js';
import type { Batch, ColumnOptions, ShardInfo } from './types.js';

/** One record batch of a shard, decoded. */
export interface ShardBlock extends Batch {
  /** Index of the record batch in its file. */
  recordBatch: number;
}

interface Opened {
  ipc: IpcFile;
  schema: Schema;
  schemaBytes: Uint8Array;
  columnIndex: number;
  /** Index of the activation column's first field node in a record batch. */
  nodeIndex: number;
  plan: ColumnPlan;
}

async function openColumn(file: string, cols: ColumnOptions): Promise<Opened> {
  const ipc = await IpcFile.open(file);
  try {
    if (ipc.schema.endianness !== 0) {
      throw new DataError(
        `${file}: the file is big-endian; apache-arrow would read its numbers in the wrong byte order.`,
        'Re-export the activations in little-endian byte order (the default on x86 and ARM).',
      );
    }
    const schemaBytes = ipc.schemaBytes;
    const schema = arrowSchema(schemaBytes, file);
    if (schema.fields.length !== ipc.schema.fields.length) {
      throw new DataError(`${file}: the schema lists ${ipc.schema.fields.length} fields but decodes to ${schema.fields.length}.`, 'The file is corrupt; re-export it.');
    }
    const columnIndex = schema.fields.findIndex((f) => f.name === cols.column);
    if (columnIndex < 0) {
      const names = schema.fields.map((f) => `'${f.name}'`).join(', ') || 'none';
      throw new DataError(
        `${file}: no column '${cols.column}' (columns: ${names}).`,
        'Name the column holding the activations: data.column in the config (sae train --set data.column=NAME), or --column NAME for sae inspect, stats and eval.',
      );
    }
    const plan = planColumn(schema.fields[columnIndex]!, file);
    const ext = schema.fields[columnIndex]!.metadata.get('ARROW:extension:name');
    if (ext) plan.typeText += ` (extension ${ext})`;
    const nodeIndex = ipc.schema.fields.slice(0, columnIndex).reduce((s, f) => s + f.nodeCount, 0);
    return { ipc, schema, schemaBytes, columnIndex, nodeIndex, plan };
  } catch (err) {
    await ipc.close();
    throw err;
  }
}

/** Rows the activation column holds in a record batch, from metadata alone. */
function metaRows(o: Opened, m: MessageRef, file: string, k: number): number {
  const rb = m.meta.recordBatch!;
  const need = o.ipc.schema.fields.reduce((s, f) => s + f.nodeCount, 0);
  const node = rb.nodes[o.nodeIndex];
  const inner = rb.nodes[o.nodeIndex + 1];
  if (rb.nodes.length < need || !node || !inner || node.length !== rb.length) {
    throw new DataError(`${file}, record batch ${k}: its field nodes do not match the schema.`, 'The file is corrupt; re-export it.');
  }
  return o.plan.layout === 'rows' ? rb.length : inner.length;
}

/** Open a shard and validate what can be checked without reading every value. */
export async function openShard(file: string, cols: ColumnOptions): Promise<ShardInfo> {
  const o = await openColumn(file, cols);
  try {
    let rows = 0;
    let recordBatches = 0;
    let compression: string | null = null;
    let firstNonEmpty = -1;
    for await (const m of o.ipc.messages()) {
      if (m.meta.headerType !== HEADER_RECORD_BATCH) continue;
      if (recordBatches === 0) compression = m.meta.recordBatch!.compression;
      const n = metaRows(o, m, file, recordBatches);
      if (n > 0 && firstNonEmpty < 0) firstNonEmpty = recordBatches;
      rows += n;
      recordBatches++;
    }
    if (compression && compression.startsWith('unknown')) {
      throw new DataError(`${file}: record batches use an ${compression}.`, 'Re-export with LZ4_FRAME, ZSTD or no compression.');
    }
    let d = o.plan.d ?? 0;
    if (o.plan.d === null && firstNonEmpty >= 0) {
      for await (const b of blocksOf(o, file, cols, 0, { checkFinite: false, expectD: null, stopAfter: firstNonEmpty + 1 })) d = b.d;
    }
    const metadata: Record<string, string> = Object.fromEntries(o.schema.metadata);
    return {
      path: file,
      format: o.ipc.format,
      compression,
      rows,
      recordBatches,
      columnType: o.plan.typeText,
      d,
      layout: o.plan.layout,
      metadata,
      fields: o.schema.fields.map((f) => ({ name: f.name, type: String(f.type) })),
    };
  } finally {
    await o.ipc.close();
  }
}

export interface ReadShardOptions {
  /** Throw a DataError at the first NaN/Inf row (training); false lets inspect count them. */
  checkFinite: boolean;
  expectD: number | null;
  /** Stop after this many record batches (internal: width probing). */
  stopAfter?: number;
  /**
   * Read every record batch into this buffer, reused (and grown as needed; one may serve several
   * shards in turn): a block's arrays may be views of it, valid only until the consumer asks for
   * the next block. Without it each record batch is read into a
   * fresh buffer: at ~2 MB per record batch those allocations set off most of a training run's
   * full collections (2,000 batches of the stories260k training stream, measured 2026-12-01:
   * 126-158 mark-compacts with fresh buffers, 19 with this one and BatchStream's reused stores).
   */
  readBuffer?: ReadBuffer;
}

/** A read buffer reused across record batches (ReadShardOptions.readBuffer). */
export interface ReadBuffer {
  bytes: Uint8Array | null;
}

/** A reused read buffer grows to the largest message read, plus this share, so growth is rare. */
const READ_BUFFER_HEADROOM = 1.25;

async function* blocksOf(o: Opened, file: string, cols: ColumnOptions, firstRowId: number, opts: ReadShardOptions): AsyncGenerator<ShardBlock> {
  const dictionaries: Uint8Array[] = [];
  let k = 0;
  let rowId = firstRowId;
  const shared = opts.readBuffer;
  for await (const m of o.ipc.messages()) {
    // Dictionaries are kept for the batches after them: always a buffer of their own.
    const reuse = shared !== undefined && m.meta.headerType === HEADER_RECORD_BATCH;
    const size = m.metaSpan + m.bodyLength;
    if (reuse && (!shared.bytes || shared.bytes.length < size)) shared.bytes = new Uint8Array(Math.ceil(size * READ_BUFFER_HEADROOM));
    const bytes = await o.ipc.readMessage(m, reuse ? shared.bytes! : undefined);
    if (m.meta.headerType !== HEADER_RECORD_BATCH) {
      dictionaries.push(bytes);
      continue;
    }
    if (opts.stopAfter !== undefined && k >= opts.stopAfter) return;
    const where = `${file}, record batch ${k}`;
    const expected = metaRows(o, m, file, k);
    let block: ShardBlock;
    try {
      const rb = decodeBatch(o.schemaBytes, dictionaries, bytes, where);
      const data = rb.getChildAt(o.columnIndex)?.data[0] as Data | undefined;
      if (!data) throw new DataError(`${where}: the activation column is missing.`, 'The file is corrupt; re-export it.');
      const ex = extractRows(data, o.plan, opts.expectD, where, rowId);
      if (ex.rows !== expected) throw new DataError(`${where}: holds ${ex.rows} activation rows, its metadata says ${expected}.`, 'The file is corrupt; re-export it.');
      if (opts.expectD !== null && ex.rows > 0 && ex.d !== opts.expectD) {
        throw new DataError(`${where}: activation width ${ex.d}, expected ${opts.expectD} like the rest of the data.`, 'All shards must hold activations of the same width (same model and layer).');
      }
      const rowIds = new Float64Array(ex.rows);
      for (let i = 0; i < ex.rows; i++) rowIds[i] = rowId + i;
      block = { x: ex.x, rows: ex.rows, d: ex.d, rowIds, meta: cols.meta === false ? {} : extractMeta(rb, cols, ex.positions, ex.rows), recordBatch: k };
    } catch (err) {
      if (err instanceof ToolkitError) throw err;
      throw new DataError(`${where}: cannot read the activations (${describeError(err)}).`, 'The file is corrupt; re-export it.');
    }
    if (opts.checkFinite) {
      const bad = firstNonFiniteRow(block.x, block.d);
      if (bad >= 0) {
        throw new DataError(
          `${where}: row ${rowId + bad} holds NaN or Inf.`,
          "Fix the export (run 'sae inspect' to list every such row) or drop the rows.",
        );
      }
    }
    rowId += block.rows;
    k++;
    yield block;
  }
}

/** Decode a shard record batch by record batch; row ids start at `firstRowId`. */
export async function* readShard(shard: ShardInfo, cols: ColumnOptions, firstRowId: number, opts: ReadShardOptions): AsyncGenerator<ShardBlock> {
  const o = await openColumn(shard.path, cols);
  try {
    let rows = 0;
    for await (const b of blocksOf(o, shard.path, cols, firstRowId, opts)) {
      rows += b.rows;
      yield b;
    }
    if (rows !== shard.rows) {
      throw new DataError(`${shard.path}: holds ${rows} rows now, ${shard.rows} when it was scanned.`, 'Do not modify the data while it is being read.');
    }
  } finally {
    await o.ipc.close();
  }
}
