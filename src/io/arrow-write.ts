import {
  Field,
  FixedSizeList,
  Float32,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableToIPC,
  Utf8,
  vectorFromArray,
  type Data,
  type DataType,
  type Vector,
} from 'apache-arrow';
import { InternalError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';

/** One column of a table to write. `arrow` passes an existing vector through unchanged. */
export type ArrowColumn =
  | { name: string; kind: 'float32'; values: Float32Array }
  | { name: string; kind: 'int32'; values: Int32Array }
  | { name: string; kind: 'utf8'; values: readonly string[] }
  /** FixedSizeList<Float32>[width]: row i is values[i * width .. (i + 1) * width). */
  | { name: string; kind: 'vector'; width: number; values: Float32Array }
  | { name: string; kind: 'arrow'; vector: Vector };

function columnRows(c: ArrowColumn): number {
  switch (c.kind) {
    case 'vector':
      return c.width === 0 ? 0 : c.values.length / c.width;
    case 'arrow':
      return c.vector.length;
    default:
      return c.values.length;
  }
}

function columnData(c: ArrowColumn): { type: DataType; data: Data } {
  switch (c.kind) {
    case 'float32':
      return { type: new Float32(), data: makeData({ type: new Float32(), length: c.values.length, nullCount: 0, data: c.values }) };
    case 'int32':
      return { type: new Int32(), data: makeData({ type: new Int32(), length: c.values.length, nullCount: 0, data: c.values }) };
    case 'utf8': {
      // vectorFromArray builds one chunk (its builder's default high-water mark is unbounded).
      const v = vectorFromArray([...c.values], new Utf8());
      return { type: v.type, data: v.data[0]! };
    }
    case 'vector': {
      const type = new FixedSizeList(c.width, new Field('item', new Float32(), false));
      const child = makeData({ type: new Float32(), length: c.values.length, nullCount: 0, data: c.values });
      return { type, data: makeData({ type, length: columnRows(c), nullCount: 0, child }) };
    }
    case 'arrow': {
      const parts = c.vector.data;
      if (parts.length !== 1) {
        // A multi-chunk vector: rebuild it as one chunk so the columns of the batch line up.
        const flat = vectorFromArray([...c.vector] as unknown[], c.vector.type as DataType);
        return { type: c.vector.type as DataType, data: flat.data[0]! };
      }
      return { type: c.vector.type as DataType, data: parts[0]! };
    }
  }
}

/** Build a single-batch table with schema-level key/value metadata. */
export function buildArrowTable(columns: readonly ArrowColumn[], metadata: Record<string, string> = {}): Table {
  if (columns.length === 0) throw new InternalError('buildArrowTable: no columns');
  const rows = columnRows(columns[0]!);
  for (const c of columns) {
    if (c.kind === 'vector' && c.width > 0 && c.values.length % c.width !== 0) {
      throw new InternalError(`buildArrowTable: column '${c.name}' has ${c.values.length} values, not a multiple of width ${c.width}`);
    }
    if (columnRows(c) !== rows) throw new InternalError(`buildArrowTable: column '${c.name}' has ${columnRows(c)} rows, expected ${rows}`);
  }
  const built = columns.map(columnData);
  const fields = columns.map((c, i) => new Field(c.name, built[i]!.type, c.kind === 'arrow' ? c.vector.nullCount > 0 : false));
  const schema = new Schema(fields, new Map(Object.entries(metadata)));
  const struct = makeData({ type: new Struct(fields), length: rows, nullCount: 0, children: built.map((b) => b.data) });
  return new Table(schema, new RecordBatch(schema, struct));
}

/** Arrow IPC file-format bytes of the columns. */
export function encodeArrowFile(columns: readonly ArrowColumn[], metadata: Record<string, string> = {}): Uint8Array {
  return tableToIPC(buildArrowTable(columns, metadata), 'file');
}

/** Write an Arrow IPC file atomically. */
export function writeArrowFile(file: string, columns: readonly ArrowColumn[], metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, encodeArrowFile(columns, metadata));
}
