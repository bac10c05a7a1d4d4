import { DataType, Precision, Type, type Data, type Field } from 'apache-arrow';
import { DataError } from '../errors.js';
import { fromFloat16Array } from '../io/float16.js';

/**
 * The activation column: which Arrow types we accept and how to get a row-major Float32Array
 * [rows, d] out of one record batch.
 *   rows:      FixedSizeList<float>[d] | List<float> | LargeList<float>       (one token per row)
 *   sequences: (FixedSizeList|List|LargeList)<(FixedSizeList|List|LargeList)<float>>
 *              ([positions, d] per row, e.g. HF `datasets` Array2D caches), flattened.
 */

export interface ColumnPlan {
  layout: 'rows' | 'sequences';
  /** Known width (FixedSizeList inner), or null if it must be read from the data. */
  d: number | null;
  typeText: string;
}

function isListLike(t: DataType): boolean {
  return t.typeId === Type.FixedSizeList || t.typeId === Type.List || t.typeId === Type.LargeList;
}

function isFloat(t: DataType): boolean {
  return DataType.isFloat(t);
}

export function describeType(t: DataType): string {
  return String(t);
}

/** Check the activation field's type; throws a DataError naming what was found. */
export function planColumn(field: Field, file: string): ColumnPlan {
  const t = field.type as DataType;
  const typeText = describeType(t);
  const wrong = () =>
    new DataError(
      `${file}: column '${field.name}' is ${typeText}, expected a list of float (FixedSizeList<Float32>[d], List<Float32>, or a list of such lists per sequence).`,
      'Re-export the activations as fixed-size lists of float32.',
    );
  if (!isListLike(t)) throw wrong();
  const inner = t.children[0]!.type as DataType;
  if (isFloat(inner)) {
    return { layout: 'rows', d: t.typeId === Type.FixedSizeList ? (t as unknown as { listSize: number }).listSize : null, typeText };
  }
  if (isListLike(inner) && isFloat(inner.children[0]!.type as DataType)) {
    return { layout: 'sequences', d: inner.typeId === Type.FixedSizeList ? (inner as unknown as { listSize: number }).listSize : null, typeText };
  }
  throw wrong();
}

/** [start, end) of list row i in the child's index space; null for a null row. */
function span(data: Data, i: number): [number, number] | null {
  if (data.nullCount > 0 && data.nullBitmap && data.nullBitmap.length > 0) {
    const j = data.offset + i;
    if (((data.nullBitmap[j >> 3]! >> (j & 7)) & 1) === 0) return null;
  }
  if (data.typeId === Type.FixedSizeList) {
    const size = (data.type as unknown as { listSize: number }).listSize;
    const s = (data.offset + i) * size;
    return [s, s + size];
  }
  const offs = data.valueOffsets as Int32Array | BigInt64Array;
  const a = offs[data.offset + i];
  const b = offs[data.offset + i + 1];
  if (a === undefined || b === undefined) throw new DataError('list offsets are missing (corrupt record batch).', 'Re-export the file.');
  return [Number(a), Number(b)];
}

/** Float values of a float Data as float32 (view when already float32). */
function floatValues(child: Data): Float32Array {
  const p = (child.type as unknown as { precision: Precision }).precision;
  const v = child.values as Float32Array | Float64Array | Uint16Array;
  const from = child.offset;
  const to = child.offset + child.length;
  if (to > v.length) throw new DataError(`float values are shorter than declared (${v.length} < ${to}).`, 'The file is corrupt; re-export it.');
  if (p === Precision.SINGLE) return (v as Float32Array).subarray(from, to);
  if (p === Precision.DOUBLE) return Float32Array.from((v as Float64Array).subarray(from, to));
  return fromFloat16Array((v as Uint16Array).subarray(from, to));
}

export interface Extracted {
  /** x [rows, d] */
  x: Float32Array;
  rows: number;
  d: number;
  /** Sequences layout: positions per input row (to flatten metadata alongside). */
  positions: Int32Array | null;
}

/**
 * Activation rows of one record batch's column. `expectD` (if known) is enforced; `where`
 * prefixes error messages (file and record batch), `firstRow` is the global id of row 0.
 */
export function extractRows(data: Data, plan: ColumnPlan, expectD: number | null, where: string, firstRow: number): Extracted {
  const rowError = (row: number, what: string) =>
    new DataError(`${where}, row ${row}: ${what}.`, 'Fix or drop the offending rows and re-export the activations.');
  let d = plan.d ?? expectD;
  if (plan.layout === 'rows') {
    const child = data.children[0]!;
    if (child.nullCount > 0) throw rowError(firstRow, 'the activation values contain nulls');
    const values = floatValues(child);
    const rows = data.length;
    const first = rows > 0 ? span(data, 0) : [0, 0];
    if (first === null) throw rowError(firstRow, 'the activation is null');
    if (d === null) d = first[1] - first[0];
    const start = first[0];
    for (let i = 0; i < rows; i++) {
      const s = i === 0 ? first : span(data, i);
      if (s === null) throw rowError(firstRow + i, 'the activation is null');
      if (s[1] - s[0] !== d) throw rowError(firstRow + i, `width ${s[1] - s[0]}, expected ${d} like the rows before`);
      if (s[0] !== start + i * d) throw rowError(firstRow + i, 'list values are not contiguous');
    }
    if (start + rows * d > values.length) throw rowError(firstRow, 'list values run past the end of the data');
    return { x: values.subarray(start, start + rows * d), rows, d, positions: null };
  }
  const mid = data.children[0]!;
  const leaf = mid.children[0]!;
  if (leaf.nullCount > 0) throw rowError(firstRow, 'the activation values contain nulls');
  const values = floatValues(leaf);
  const positions = new Int32Array(data.length);
  let tokens = 0;
  const spans: [number, number][] = [];
  for (let i = 0; i < data.length; i++) {
    const s = span(data, i);
    if (s === null) throw rowError(firstRow, `sequence ${i} of this record batch is null`);
    if (s[0] < 0 || s[1] < s[0] || s[1] > mid.length) throw rowError(firstRow, `sequence ${i} has out-of-range offsets`);
    positions[i] = s[1] - s[0];
    tokens += s[1] - s[0];
    spans.push(s);
  }
  if (d === null) {
    const firstSeq = spans.find((s) => s[1] > s[0]);
    const t = firstSeq ? span(mid, firstSeq[0]) : null;
    d = t ? t[1] - t[0] : 0;
  }
  const x = new Float32Array(tokens * d);
  let row = 0;
  for (const s of spans) {
    for (let j = s[0]; j < s[1]; j++, row++) {
      const t = span(mid, j);
      if (t === null) throw rowError(firstRow + row, 'the activation is null');
      if (t[1] - t[0] !== d) throw rowError(firstRow + row, `width ${t[1] - t[0]}, expected ${d}`);
      if (t[1] > values.length || t[0] < 0) throw rowError(firstRow + row, 'list values run past the end of the data');
      x.set(values.subarray(t[0], t[1]), row * d);
    }
  }
  return { x, rows: tokens, d, positions };
}

/** Index of the first row holding NaN/Inf at or after `from`, or -1. */
export function firstNonFiniteRow(x: Float32Array, d: number, from = 0): number {
  // Fast pass without branches: v * 0 is (+/-)0 for finite v and NaN for NaN and +/-Inf, so the
  // sums stay 0 unless some value is not finite; only then look for the row.
  let a = 0;
  let b = 0;
  let c = 0;
  let e = 0;
  let k0 = from * d;
  const n = x.length;
  for (; k0 + 3 < n; k0 += 4) {
    a += x[k0]! * 0;
    b += x[k0 + 1]! * 0;
    c += x[k0 + 2]! * 0;
    e += x[k0 + 3]! * 0;
  }
  for (; k0 < n; k0++) a += x[k0]! * 0;
  if (a + b + c + e === 0) return -1;
  for (let k = from * d; k < x.length; k++) {
    const v = x[k]!;
    if (v - v !== 0) return Math.floor(k / d);
  }
  return -1;
}
