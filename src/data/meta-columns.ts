import { DataType, type RecordBatch, type Vector } from 'apache-arrow';
import type { ColumnOptions, RowMeta } from './types.js';

/**
 * Optional per-row metadata (token id, token text, document id, position) carried beside the
 * activations. A column that is absent, or of a type we cannot use (ids must be integers, the
 * token text a string), is left out rather than failing: it only feeds reports. For the
 * sequences layout, a list column is flattened alongside the activations and a scalar column
 * is repeated for every position of its row.
 */

type Kind = 'int' | 'str';

function kindOf(t: DataType): Kind | null {
  if (DataType.isInt(t)) return 'int';
  if (DataType.isUtf8(t) || DataType.isLargeUtf8(t)) return 'str';
  if (DataType.isDictionary(t)) return kindOf(t.dictionary as DataType) === 'str' ? 'str' : null;
  return null;
}

function elementKind(t: DataType): { kind: Kind; list: boolean } | null {
  const k = kindOf(t);
  if (k) return { kind: k, list: false };
  if (DataType.isList(t) || DataType.isFixedSizeList(t) || DataType.isLargeList(t)) {
    const inner = kindOf(t.children[0]!.type as DataType);
    if (inner) return { kind: inner, list: true };
  }
  return null;
}

function intsOf(v: Vector | null): Int32Array {
  if (!v) return new Int32Array(0);
  const a = v.toArray() as ArrayLike<number | bigint>;
  if (a instanceof Int32Array) return a;
  const out = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Number(a[i]);
  return out;
}

function stringsOf(v: Vector | null): string[] {
  if (!v) return [];
  const out: string[] = new Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = (v.get(i) as string | null) ?? '';
  return out;
}

function column(batch: RecordBatch, name: string, kind: Kind, positions: Int32Array | null, rows: number): Int32Array | string[] | undefined {
  const idx = batch.schema.fields.findIndex((f) => f.name === name);
  if (idx < 0) return undefined;
  const vec = batch.getChildAt(idx);
  if (!vec) return undefined;
  const ek = elementKind(vec.type as DataType);
  if (!ek || ek.kind !== kind) return undefined;
  if (!positions) {
    if (ek.list) return undefined;
    const out = kind === 'int' ? intsOf(vec) : stringsOf(vec);
    return out.length === rows ? out : undefined;
  }
  const ints = new Int32Array(kind === 'int' ? rows : 0);
  const strs: string[] = [];
  let r = 0;
  for (let i = 0; i < positions.length; i++) {
    const n = positions[i]!;
    if (ek.list) {
      const sub = vec.get(i) as Vector | null;
      if (!sub || sub.length !== n) return undefined;
      if (kind === 'int') ints.set(intsOf(sub), r);
      else strs.push(...stringsOf(sub));
    } else {
      const value = vec.get(i);
      for (let j = 0; j < n; j++) {
        if (kind === 'int') ints[r + j] = Number(value ?? 0);
        else strs.push((value as string | null) ?? '');
      }
    }
    r += n;
  }
  return kind === 'int' ? ints : strs;
}

/** Metadata for the `rows` activation rows of `batch` (positions: sequences layout). */
export function extractMeta(batch: RecordBatch, cols: ColumnOptions, positions: Int32Array | null, rows: number): RowMeta {
  const meta: RowMeta = {};
  const tokenId = column(batch, cols.columns.tokenId, 'int', positions, rows);
  const docId = column(batch, cols.columns.docId, 'int', positions, rows);
  const pos = column(batch, cols.columns.pos, 'int', positions, rows);
  const token = column(batch, cols.columns.token, 'str', positions, rows);
  if (tokenId instanceof Int32Array) meta.tokenId = tokenId;
  if (docId instanceof Int32Array) meta.docId = docId;
  if (pos instanceof Int32Array) meta.pos = pos;
  if (Array.isArray(token)) meta.token = token;
  return meta;
}
