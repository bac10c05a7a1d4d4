import { describe, expect, it } from 'vitest';
import { EXAMPLE_HEADER, packFeatures } from '../../src/report/feature-payload.js';
import { HOSTILE_TOKENS, syntheticStats } from './report-fixture.js';

describe('packFeatures', () => {
  it('keeps every feature, at most the asked examples, and the tokens through one string table', () => {
    const stats = syntheticStats({ m: 40, topK: 20, contextTokens: 3, vocab: HOSTILE_TOKENS });
    const p = packFeatures(stats, 5);
    expect(p.m).toBe(40);
    expect(p.examplesPerFeature).toBe(5);
    for (const col of Object.values(p.cols)) expect(col).toHaveLength(40);
    expect(p.cols.nearestIndex[0]).toBe(1);
    expect(p.cols.dead[3]).toBe(1);
    expect(p.examples[3]).toEqual([]); // dead: no examples
    // Decode feature 1 (activating tokens vocab[0..]): same tokens and contexts as the statistics.
    const flat = p.examples[1]!;
    const decoded: { act: number; token: string; context: string[] }[] = [];
    for (let k = 0; k < flat.length; ) {
      const n = flat[k + 6]!;
      decoded.push({ act: flat[k]!, token: p.strings[flat[k + 4]!]!, context: flat.slice(k + EXAMPLE_HEADER, k + EXAMPLE_HEADER + n).map((s) => p.strings[s]!) });
      k += EXAMPLE_HEADER + n;
    }
    expect(decoded).toHaveLength(Math.min(5, stats.topExamples[1]!.length));
    decoded.forEach((e, k) => {
      const orig = stats.topExamples[1]![k]!;
      expect(e.token).toBe(HOSTILE_TOKENS[k % HOSTILE_TOKENS.length]);
      expect(e.context).toEqual(orig.context);
      expect(e.act).toBeCloseTo(orig.activation, 3);
    });
    expect(new Set(p.strings).size).toBe(p.strings.length);
  });
});
