import { readBlocks, scanDataset } from './dataset.js';
import type { ColumnOptions, ShardInfo } from './types.js';

/** What the data layer sees, before any training (`sae inspect`). */
export interface InspectReport {
  shards: ShardInfo[];
  rows: number;
  d: number;
  metadata: Record<string, string>;
  /** L2 norm of the activation rows (finite rows only). */
  norm: { mean: number; min: number; max: number };
  /** Range over dimensions of the per-dimension mean and standard deviation. */
  dimMean: { min: number; max: number };
  dimStd: { min: number; max: number };
  /** Rows holding NaN/Inf: inspect reports them where training would stop. */
  nonFinite: { rows: number; firstRowIds: number[] };
}

const FIRST_BAD = 10;

/**
 * Scan the data exactly as training would (same validation and errors) and summarise it.
 * One streaming pass; per-dimension moments in float64 around the first row (a shift that
 * keeps the variance accurate when the mean is large).
 */
export async function inspectData(patterns: string[], cols: ColumnOptions): Promise<InspectReport> {
  const ds = await scanDataset(patterns, cols);
  const d = ds.d;
  const sum = new Float64Array(d);
  const sumSq = new Float64Array(d);
  let shift: Float64Array | null = null;
  let n = 0;
  let normSum = 0;
  let normMin = Infinity;
  let normMax = -Infinity;
  const bad: number[] = [];
  let badRows = 0;
  for await (const b of readBlocks(ds, cols, { checkFinite: false })) {
    for (let i = 0; i < b.rows; i++) {
      const row = b.x.subarray(i * d, i * d + d);
      let sq = 0;
      let finite = true;
      for (let j = 0; j < d; j++) {
        const v = row[j]!;
        if (v - v !== 0) {
          finite = false;
          break;
        }
        sq += v * v;
      }
      if (!finite) {
        badRows++;
        if (bad.length < FIRST_BAD) bad.push(b.rowIds[i]!);
        continue;
      }
      shift ??= Float64Array.from(row);
      for (let j = 0; j < d; j++) {
        const c = row[j]! - shift[j]!;
        sum[j] += c;
        sumSq[j] += c * c;
      }
      const norm = Math.sqrt(sq);
      normSum += norm;
      if (norm < normMin) normMin = norm;
      if (norm > normMax) normMax = norm;
      n++;
    }
  }
  const dimMean = { min: Infinity, max: -Infinity };
  const dimStd = { min: Infinity, max: -Infinity };
  for (let j = 0; j < d && n > 0; j++) {
    const m = sum[j]! / n;
    const mean = m + shift![j]!;
    const std = Math.sqrt(Math.max(0, sumSq[j]! / n - m * m));
    dimMean.min = Math.min(dimMean.min, mean);
    dimMean.max = Math.max(dimMean.max, mean);
    dimStd.min = Math.min(dimStd.min, std);
    dimStd.max = Math.max(dimStd.max, std);
  }
  const orNaN = (x: number) => (Number.isFinite(x) ? x : NaN);
  return {
    shards: ds.shards,
    rows: ds.rows,
    d,
    metadata: ds.metadata,
    norm: { mean: n > 0 ? normSum / n : NaN, min: orNaN(normMin), max: orNaN(normMax) },
    dimMean: { min: orNaN(dimMean.min), max: orNaN(dimMean.max) },
    dimStd: { min: orNaN(dimStd.min), max: orNaN(dimStd.max) },
    nonFinite: { rows: badRows, firstRowIds: bad },
  };
}
