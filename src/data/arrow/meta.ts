import { FbReader, FlatbufferError, type FbTable } from './flatbuf.js';

/**
 * Arrow IPC metadata (Message, Schema, RecordBatch, Footer; format/Schema.fbs, Message.fbs,
 * File.fbs) decoded with the bounds-checked reader, so that every length and offset is known
 * to be sane before apache-arrow sees the bytes.
 */

export const HEADER_SCHEMA = 1;
export const HEADER_DICTIONARY = 2;
export const HEADER_RECORD_BATCH = 3;

const MAX_FIELDS = 100_000;
const MAX_DEPTH = 64;

export interface FieldMeta {
  name: string;
  /** Type union tag (Schema.fbs `Type`): 3 FloatingPoint, 12 List, 16 FixedSizeList, ... */
  typeTag: number;
  dictionary: boolean;
  children: FieldMeta[];
  /** Field nodes this field occupies in a record batch (depth-first). */
  nodeCount: number;
}

export interface SchemaMeta {
  /** 0 little, 1 big. */
  endianness: number;
  fields: FieldMeta[];
  metadata: Record<string, string>;
}

export interface RecordBatchMeta {
  length: number;
  nodes: { length: number; nullCount: number }[];
  buffers: { offset: number; length: number }[];
  /** 'lz4_frame' | 'zstd' | null */
  compression: string | null;
}

export interface MessageMeta {
  version: number;
  headerType: number;
  bodyLength: number;
  schema?: SchemaMeta;
  recordBatch?: RecordBatchMeta;
  dictionaryId?: number;
}

export interface BlockMeta {
  offset: number;
  metaDataLength: number;
  bodyLength: number;
}

export interface FooterMeta {
  schema: SchemaMeta;
  dictionaries: BlockMeta[];
  recordBatches: BlockMeta[];
}

export { FlatbufferError };

function keyValues(r: FbReader, t: FbTable, index: number): Record<string, string> {
  const out: Record<string, string> = {};
  const v = r.vector(t, index, 4);
  for (let i = 0; i < v.length; i++) {
    const kv = r.tableAt(v.start, i);
    const key = r.string(kv, 0);
    if (key !== null) out[key] = r.string(kv, 1) ?? '';
  }
  return out;
}

function decodeField(r: FbReader, t: FbTable, depth: number, count: { n: number }): FieldMeta {
  if (depth > MAX_DEPTH) throw new FlatbufferError(`fields nested deeper than ${MAX_DEPTH}`);
  if (++count.n > MAX_FIELDS) throw new FlatbufferError(`more than ${MAX_FIELDS} fields`);
  const name = r.string(t, 0) ?? '';
  const typeTag = r.scalarU8(t, 2);
  r.subTable(t, 3);
  const dict = r.subTable(t, 4);
  if (dict) r.subTable(dict, 1);
  const kids = r.vector(t, 5, 4);
  const children: FieldMeta[] = [];
  for (let i = 0; i < kids.length; i++) children.push(decodeField(r, r.tableAt(kids.start, i), depth + 1, count));
  keyValues(r, t, 6);
  // A dictionary-encoded field has one node (the indices); its children describe the dictionary.
  const nodeCount = dict ? 1 : 1 + children.reduce((s, c) => s + c.nodeCount, 0);
  return { name, typeTag, dictionary: dict !== null, children, nodeCount };
}

function decodeSchema(r: FbReader, t: FbTable): SchemaMeta {
  const endianness = r.scalarI16(t, 0);
  const v = r.vector(t, 1, 4);
  const count = { n: 0 };
  const fields: FieldMeta[] = [];
  for (let i = 0; i < v.length; i++) fields.push(decodeField(r, r.tableAt(v.start, i), 0, count));
  return { endianness, fields, metadata: keyValues(r, t, 2) };
}

function decodeRecordBatch(r: FbReader, t: FbTable): RecordBatchMeta {
  const length = r.scalarI64(t, 0);
  const nv = r.vector(t, 1, 16);
  const nodes = [];
  for (let i = 0; i < nv.length; i++) nodes.push({ length: r.i64(nv.start + 16 * i), nullCount: r.i64(nv.start + 16 * i + 8) });
  const bv = r.vector(t, 2, 16);
  const buffers = [];
  for (let i = 0; i < bv.length; i++) buffers.push({ offset: r.i64(bv.start + 16 * i), length: r.i64(bv.start + 16 * i + 8) });
  const comp = r.subTable(t, 3);
  let compression: string | null = null;
  if (comp) {
    const codec = r.scalarU8(comp, 0);
    compression = codec === 0 ? 'lz4_frame' : codec === 1 ? 'zstd' : `unknown codec ${codec}`;
  }
  r.vector(t, 4, 8);
  return { length, nodes, buffers, compression };
}

/** Decode a Message flatbuffer (the metadata bytes after the length prefix). */
export function decodeMessage(bytes: Uint8Array): MessageMeta {
  const r = new FbReader(bytes);
  const t = r.root();
  const version = r.scalarI16(t, 0);
  const headerType = r.scalarU8(t, 1);
  const bodyLength = r.scalarI64(t, 3);
  keyValues(r, t, 4);
  const header = r.subTable(t, 2);
  const out: MessageMeta = { version, headerType, bodyLength };
  if (!header) return out;
  if (headerType === HEADER_SCHEMA) out.schema = decodeSchema(r, header);
  else if (headerType === HEADER_RECORD_BATCH) out.recordBatch = decodeRecordBatch(r, header);
  else if (headerType === HEADER_DICTIONARY) {
    out.dictionaryId = r.scalarI64(header, 0);
    const data = r.subTable(header, 1);
    if (data) out.recordBatch = decodeRecordBatch(r, data);
  }
  return out;
}

function blocks(r: FbReader, t: FbTable, index: number): BlockMeta[] {
  const v = r.vector(t, index, 24);
  const out: BlockMeta[] = [];
  for (let i = 0; i < v.length; i++) {
    const p = v.start + 24 * i;
    out.push({ offset: r.i64(p), metaDataLength: r.i32(p + 8), bodyLength: r.i64(p + 16) });
  }
  return out;
}

/** Decode a Footer flatbuffer (IPC file format). */
export function decodeFooter(bytes: Uint8Array): FooterMeta {
  const r = new FbReader(bytes);
  const t = r.root();
  const st = r.subTable(t, 1);
  if (!st) throw new FlatbufferError('the footer has no schema');
  return { schema: decodeSchema(r, st), dictionaries: blocks(r, t, 2), recordBatches: blocks(r, t, 3) };
}
