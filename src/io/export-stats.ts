import fs from 'node:fs';
import { DataType, tableFromIPC, vectorFromArray, type Table, type Vector } from 'apache-arrow';
import { describeError, RunError } from '../errors.js';
import type { ArrowColumn } from './arrow-write.js';

/**
 * The per-feature statistics table of a run (features.arrow), reduced to what an export copies:
 * its scalar columns, joined to feature indices. The join column is the first integer column
 * named index / feature / feature_index; without one, row i is feature i.
 */
export interface StatsTable {
  file: string;
  /** Scalar columns (name + vector), the join column excluded. */
  columns: { name: string; vector: Vector }[];
  /** rowOf[i] = row of feature i, or -1 when the table has no row for it. */
  rowOf: Int32Array;
}

const JOIN_NAMES = ['index', 'feature', 'feature_index'];

function isScalar(t: DataType): boolean {
  return !(
    DataType.isList(t) ||
    DataType.isFixedSizeList(t) ||
    DataType.isStruct(t) ||
    DataType.isMap(t) ||
    DataType.isUnion(t) ||
    DataType.isDictionary(t)
  );
}

/** Read `file` (null if it does not exist) for a dictionary of m features. */
export function readStatsTable(file: string, m: number): StatsTable | null {
  if (!fs.existsSync(file)) return null;
  let table: Table;
  try {
    table = tableFromIPC(fs.readFileSync(file));
  } catch (err) {
    throw new RunError(`${file}: cannot read the feature statistics table (${describeError(err)}).`, 'Export without statistics by moving the file aside, or recompute them with `sae features`.');
  }
  const fields = table.schema.fields;
  const join = fields.find((f) => JOIN_NAMES.includes(f.name) && DataType.isInt(f.type));
  const rowOf = new Int32Array(m).fill(-1);
  if (join) {
    const col = table.getChild(join.name)!;
    for (let r = 0; r < table.numRows; r++) {
      const v = col.get(r) as number | bigint | null;
      if (v === null) continue;
      const i = Number(v);
      if (Number.isInteger(i) && i >= 0 && i < m) rowOf[i] = r;
    }
  } else {
    if (table.numRows !== m) {
      throw new RunError(
        `${file}: has ${table.numRows} rows and no index column, but the dictionary has ${m} features.`,
        'Recompute the statistics with `sae features`, or move the file aside to export without them.',
      );
    }
    for (let i = 0; i < m; i++) rowOf[i] = i;
  }
  const columns = fields
    .filter((f) => f !== join && isScalar(f.type))
    .map((f) => ({ name: f.name, vector: table.getChild(f.name)! }));
  return { file, columns, rowOf };
}

/** The statistics of features `idx`, one Arrow column per scalar statistic (null where missing). */
export function statsColumns(stats: StatsTable, idx: Int32Array, taken: ReadonlySet<string>): ArrowColumn[] {
  return stats.columns.map(({ name, vector }) => {
    const values = Array.from(idx, (i) => {
      const r = stats.rowOf[i]!;
      return r < 0 ? null : (vector.get(r) as unknown);
    });
    const out = vectorFromArray(values as never[], vector.type as DataType) as Vector;
    return { name: taken.has(name) ? `stats_${name}` : name, kind: 'arrow', vector: out };
  });
}

function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? null : v > 0 ? 'Infinity' : '-Infinity';
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return v ?? null;
}

/** The statistics of feature i as a plain JSON object ({} when the table has no row for it). */
export function statsRecord(stats: StatsTable, i: number, taken: ReadonlySet<string>): Record<string, unknown> {
  const r = stats.rowOf[i]!;
  const out: Record<string, unknown> = {};
  if (r < 0) return out;
  for (const { name, vector } of stats.columns) out[taken.has(name) ? `stats_${name}` : name] = jsonValue(vector.get(r));
  return out;
}
