import type { FeatureStats, FeatureStatsSettings } from './stats.js';

export const FEATURES_FORMAT_VERSION = 1;

/** Edges of the log10-density histogram: -10 (never fired, SAELens' floor) to 0 in steps of 0.5. */
export const DENSITY_EDGES: readonly number[] = Array.from({ length: 21 }, (_, i) => -10 + i * 0.5);

/** Cosine to the nearest other decoder row above which two features count as near-duplicates. */
export const DUPLICATE_COS = 0.9;

/** features.json: what a person wants to know about the whole dictionary at a glance. */
export interface FeatureStatsSummary {
  formatVersion: number;
  d: number;
  features: number;
  rows: number;
  settings: FeatureStatsSettings;
  alive: number;
  dead: number;
  dense: number;
  /** Features that did not fire on any row (log10 density -10). */
  neverFired: number;
  deadFraction: number;
  denseFraction: number;
  /** Mean number of features firing per row (sum of firing frequencies). */
  l0: number;
  /** Features that were resampled at least once during training. */
  resampled: number;
  /** Features whose nearest other decoder row has cosine above `threshold`. */
  nearDuplicates: { threshold: number; count: number };
  /**
   * Histogram of log10 density: counts[i] features in [edges[i], edges[i+1]) (the last bin includes 0);
   * features that never fired sit at -10, in the first bin.
   */
  densityHistogram: { edges: number[]; counts: number[] };
}

/** Counts in bins [edges[i], edges[i+1]); values outside are clamped into the end bins. */
export function histogramCounts(values: ArrayLike<number>, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) continue;
    let b = 0;
    while (b < counts.length - 1 && v >= edges[b + 1]!) b++;
    counts[b]!++;
  }
  return counts;
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

function countIf(a: ArrayLike<number>, pred: (v: number) => boolean): number {
  let c = 0;
  for (let i = 0; i < a.length; i++) if (pred(a[i]!)) c++;
  return c;
}

/** The summary of a statistics table (pure). */
export function summarizeFeatureStats(stats: FeatureStats): FeatureStatsSummary {
  const dead = countIf(stats.dead, (v) => v === 1);
  const dense = countIf(stats.dense, (v) => v === 1);
  return {
    formatVersion: FEATURES_FORMAT_VERSION,
    d: stats.d,
    features: stats.m,
    rows: stats.rows,
    settings: stats.settings,
    alive: stats.m - dead,
    dead,
    dense,
    neverFired: countIf(stats.fireCount, (v) => v === 0),
    deadFraction: dead / stats.m,
    denseFraction: dense / stats.m,
    l0: sum(stats.frequency),
    resampled: countIf(stats.resampleCount, (v) => v > 0),
    nearDuplicates: { threshold: DUPLICATE_COS, count: countIf(stats.nearestCos, (v) => v > DUPLICATE_COS) },
    densityHistogram: { edges: [...DENSITY_EDGES], counts: histogramCounts(stats.log10Density, DENSITY_EDGES) },
  };
}
