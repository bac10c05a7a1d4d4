import { RunError } from '../errors.js';
import { readFeatureStats } from './table.js';
import type { FeatureSortKey } from './sort-keys.js';
import type { FeatureStats, TopExample } from './stats.js';

/** The scalar statistics of one feature (JSON-friendly: NaN/-1 "none" values become null). */
export interface FeatureRow {
  index: number;
  fireCount: number;
  frequency: number;
  log10Density: number;
  meanActivation: number;
  stdActivation: number;
  maxActivation: number;
  decoderNorm: number;
  encoderNorm: number;
  encoderDecoderCos: number;
  nearestIndex: number | null;
  nearestCos: number | null;
  resampleCount: number;
  lastResampleStep: number | null;
  dead: boolean;
  dense: boolean;
  /** The distinct tokens of the top examples, best first (at most 5), for a quick read. */
  topTokens: string[];
}

export { FEATURE_SORT_KEYS, type FeatureSortKey } from './sort-keys.js';

export interface FeatureListing {
  run: string;
  rows: number;
  features: number;
  sort: FeatureSortKey;
  /** Smallest first (rare features with frequency, say). */
  ascending: boolean;
  shown: FeatureRow[];
}

export interface FeatureCard extends FeatureRow {
  run: string;
  rows: number;
  contextTokens: number;
  topExamples: TopExample[];
}

export function featureRow(stats: FeatureStats, i: number): FeatureRow {
  const topTokens: string[] = [];
  for (const e of stats.topExamples[i] ?? []) {
    const t = e.token ?? (e.tokenId !== null ? `#${e.tokenId}` : null);
    if (t !== null && !topTokens.includes(t) && topTokens.length < 5) topTokens.push(t);
  }
  return {
    index: i,
    fireCount: stats.fireCount[i]!,
    frequency: stats.frequency[i]!,
    log10Density: stats.log10Density[i]!,
    meanActivation: stats.meanActivation[i]!,
    stdActivation: stats.stdActivation[i]!,
    maxActivation: stats.maxActivation[i]!,
    decoderNorm: stats.decoderNorm[i]!,
    encoderNorm: stats.encoderNorm[i]!,
    encoderDecoderCos: stats.encoderDecoderCos[i]!,
    nearestIndex: stats.nearestIndex[i]! >= 0 ? stats.nearestIndex[i]! : null,
    nearestCos: Number.isNaN(stats.nearestCos[i]!) ? null : stats.nearestCos[i]!,
    resampleCount: stats.resampleCount[i]!,
    lastResampleStep: stats.lastResampleStep[i]! >= 0 ? stats.lastResampleStep[i]! : null,
    dead: stats.dead[i] === 1,
    dense: stats.dense[i] === 1,
    topTokens,
  };
}

/**
 * The value a sort key orders by (descending, except index); missing values sort last.
 * 'density' is log10 of the frequency, so the two keys give the same order.
 */
function sortValue(stats: FeatureStats, key: FeatureSortKey, i: number): number {
  switch (key) {
    case 'index':
      return -i;
    case 'frequency':
    case 'density':
      return stats.frequency[i]!;
    case 'max':
      return stats.maxActivation[i]!;
    case 'mean':
      return stats.meanActivation[i]!;
    case 'std':
      return stats.stdActivation[i]!;
    case 'cos':
      return Number.isNaN(stats.nearestCos[i]!) ? -Infinity : stats.nearestCos[i]!;
    case 'resampled':
      return stats.resampleCount[i]!;
  }
}

/**
 * Feature indices ordered by a key, largest first (index: ascending), or the other way round
 * with `ascending`; ties by index; missing values (no nearest feature) last either way.
 */
export function sortFeatures(stats: FeatureStats, key: FeatureSortKey, ascending = false): number[] {
  const order = Array.from({ length: stats.m }, (_, i) => i);
  const v = Float64Array.from(order, (i) => sortValue(stats, key, i));
  const rank = (x: number) => (x === -Infinity ? Infinity : x);
  return order.sort((a, b) => (v[b]! === v[a]! ? 0 : ascending ? rank(v[a]!) - rank(v[b]!) : v[b]! - v[a]!) || a - b);
}

/** The run's features as rows, sorted, at most `limit` of them. */
export function listFeatures(run: string, opts: { sort: FeatureSortKey; limit?: number; ascending?: boolean }): FeatureListing {
  const stats = readFeatureStats(run);
  const ascending = opts.ascending ?? false;
  const order = sortFeatures(stats, opts.sort, ascending).slice(0, opts.limit ?? stats.m);
  return { run, rows: stats.rows, features: stats.m, sort: opts.sort, ascending, shown: order.map((i) => featureRow(stats, i)) };
}

/** One feature's statistics and top examples. */
export function describeFeature(run: string, index: number): FeatureCard {
  const stats = readFeatureStats(run);
  if (!Number.isInteger(index) || index < 0 || index >= stats.m) {
    throw new RunError(
      `feature ${index} does not exist in ${run}: the dictionary has ${stats.m} features (0-${stats.m - 1}).`,
      `Give an index from 0 to ${stats.m - 1}, or list them with \`sae features ${run}\`.`,
    );
  }
  return {
    run,
    rows: stats.rows,
    contextTokens: stats.settings.contextTokens,
    ...featureRow(stats, index),
    topExamples: stats.topExamples[index]!,
  };
}
