import type { FeatureStats } from '../features/stats.js';
import type { FeatureColumn, FeaturePayload } from './feature-payload-types.js';

export type { FeatureColumn, FeaturePayload } from './feature-payload-types.js';

/** Fields of one example in the flat encoding, before its context tokens. */
export const EXAMPLE_HEADER = 7;

function round(v: number): number | null {
  return Number.isFinite(v) ? Number(v.toPrecision(4)) : null;
}

/** Pack the statistics for the page, keeping at most `maxExamples` top examples per feature. */
export function packFeatures(stats: FeatureStats, maxExamples: number): FeaturePayload {
  const strings: string[] = [];
  const ids = new Map<string, number>();
  const intern = (s: string | null): number => {
    if (s === null) return -1;
    let id = ids.get(s);
    if (id === undefined) {
      id = strings.length;
      strings.push(s);
      ids.set(s, id);
    }
    return id;
  };
  const m = stats.m;
  const ints = (a: ArrayLike<number>, none?: (v: number) => boolean) => Array.from(a, (v) => (none?.(v) ? null : v));
  const cols: Record<FeatureColumn, (number | null)[]> = {
    fireCount: ints(stats.fireCount),
    frequency: Array.from(stats.frequency, round),
    log10Density: Array.from(stats.log10Density, round),
    meanActivation: Array.from(stats.meanActivation, round),
    stdActivation: Array.from(stats.stdActivation, round),
    maxActivation: Array.from(stats.maxActivation, round),
    decoderNorm: Array.from(stats.decoderNorm, round),
    encoderNorm: Array.from(stats.encoderNorm, round),
    encoderDecoderCos: Array.from(stats.encoderDecoderCos, round),
    nearestIndex: ints(stats.nearestIndex, (v) => v < 0),
    nearestCos: Array.from(stats.nearestCos, round),
    resampleCount: ints(stats.resampleCount),
    lastResampleStep: ints(stats.lastResampleStep, (v) => v < 0),
    dead: ints(stats.dead),
    dense: ints(stats.dense),
  };
  const keep = Math.max(0, Math.min(maxExamples, stats.settings.topK));
  const examples = stats.topExamples.slice(0, m).map((list) =>
    list.slice(0, keep).flatMap((e) => [
      round(e.activation) ?? 0,
      e.rowId,
      e.docId ?? -1,
      e.pos ?? -1,
      intern(e.token),
      e.focus,
      e.context.length,
      ...e.context.map(intern),
    ]),
  );
  return {
    m,
    rows: stats.rows,
    topK: stats.settings.topK,
    contextTokens: stats.settings.contextTokens,
    examplesPerFeature: keep,
    strings,
    cols,
    examples,
  };
}
