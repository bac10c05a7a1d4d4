import { describe, it, expect, beforeAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { initBackend } from '../../src/backend/select.js';
import { computeFeatureStats, type FeatureStats } from '../../src/features/stats.js';
import { DENSITY_EDGES, histogramCounts, summarizeFeatureStats } from '../../src/features/summary.js';
import { readFeatureStats, writeFeatureStats } from '../../src/features/table.js';
import { RunError } from '../../src/errors.js';
import { randomData, randomWeights } from '../helpers/tensors.js';
import { rmTmp, tmpDir } from '../helpers/cli.js';
import { dumpSource, makeDump } from './fixture.js';

const d = 5;
const m = 16;

async function someStats(): Promise<FeatureStats> {
  const w = randomWeights(d, m, 21);
  w.b_enc[0] = -50;
  w.b_enc[1] = 50;
  const dump = makeDump(randomData(300, d, 22), d);
  return computeFeatureStats(w, dumpSource(dump, [128]), {
    topK: 3,
    contextTokens: 2,
    denseThreshold: 0.6,
    resampleHistory: new Map([[4, { count: 3, lastStep: 90 }]]),
  });
}

describe('features.arrow / features.json', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('round-trips through the Arrow table with documented column types, atomically', async () => {
    const stats = await someStats();
    const dir = tmpDir();
    try {
      writeFeatureStats(dir, stats);
      expect(fs.readdirSync(dir).sort()).toEqual(['features.arrow', 'features.json']);
      const table = tableFromIPC(fs.readFileSync(path.join(dir, 'features.arrow')));
      const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
      expect(types).toMatchObject({
        index: 'Int32',
        fire_count: 'Int32',
        frequency: 'Float32',
        log10_density: 'Float32',
        mean_activation: 'Float32',
        nearest_index: 'Int32',
        nearest_cos: 'Float32',
        last_resample_step: 'Int32',
        dead: 'Bool',
      });
      expect(types.top_examples).toMatch(/^List<Struct<\{row_id:Float64, activation:Float32, doc_id:Int32, pos:Int32, token_id:Int32, token:Utf8, context:List<Utf8>, focus:Int32\}>>$/);
      expect(table.numRows).toBe(m);
      expect(table.getChild('last_resample_step')!.get(0)).toBeNull();
      expect(table.getChild('last_resample_step')!.get(4)).toBe(90);

      const back = readFeatureStats(dir);
      expect([back.d, back.m, back.rows]).toEqual([stats.d, stats.m, stats.rows]);
      expect(back.settings).toEqual(stats.settings);
      for (const key of ['frequency', 'log10Density', 'meanActivation', 'stdActivation', 'maxActivation', 'decoderNorm', 'encoderNorm', 'encoderDecoderCos', 'nearestCos'] as const) {
        Array.from(stats[key]).forEach((v, i) => expect(back[key][i]).toBeCloseTo(v, 5));
      }
      for (const key of ['fireCount', 'nearestIndex', 'resampleCount', 'lastResampleStep', 'dead', 'dense'] as const) {
        expect(Array.from(back[key])).toEqual(Array.from(stats[key]));
      }
      expect(back.dead[0]).toBe(1);
      expect(back.dense[1]).toBe(1);
      back.topExamples.forEach((list, j) => {
        expect(list.length).toBe(stats.topExamples[j]!.length);
        list.forEach((e, i) => {
          const want = stats.topExamples[j]![i]!;
          expect({ ...e, activation: 0 }).toEqual({ ...want, activation: 0 });
          expect(e.activation).toBeCloseTo(want.activation, 5);
        });
      });
      expect(back.topExamples.flat().length).toBeGreaterThan(10);

      const summary = JSON.parse(fs.readFileSync(path.join(dir, 'features.json'), 'utf8'));
      expect(summary).toEqual(JSON.parse(JSON.stringify(summarizeFeatureStats(stats))));
      expect(summary.dead + summary.alive).toBe(m);
      expect(summary.densityHistogram.counts.reduce((a: number, b: number) => a + b, 0)).toBe(m);
      expect(summary.densityHistogram.counts[0]).toBeGreaterThanOrEqual(1); // the dead feature at -10
      expect(summary.resampled).toBe(1);
      expect(summary.settings).toEqual({ topK: 3, contextTokens: 2, denseThreshold: 0.6, deadThreshold: 0 });

      // Replacing leaves no temporaries behind.
      writeFeatureStats(dir, stats);
      expect(fs.readdirSync(dir).sort()).toEqual(['features.arrow', 'features.json']);
    } finally {
      rmTmp(dir);
    }
  });

  it('says what is wrong with a missing run, a run without statistics, or a foreign file', () => {
    const dir = tmpDir();
    try {
      expect(() => readFeatureStats(path.join(dir, 'nope'))).toThrow(RunError);
      expect(() => readFeatureStats(path.join(dir, 'nope'))).toThrow(/does not exist/);
      expect(() => readFeatureStats(dir)).toThrow(/has no feature statistics \(features.arrow\)/);
      fs.writeFileSync(path.join(dir, 'features.arrow'), 'not arrow');
      expect(() => readFeatureStats(dir)).toThrow(/not a feature statistics table/);
    } finally {
      rmTmp(dir);
    }
  });
});

describe('summary', () => {
  it('bins log10 densities into [edge, next edge), clamping the ends', () => {
    expect(histogramCounts([-10, -9.99, -9.5, -0.2, 0, 3, -20, NaN], [-10, -9.5, -5, 0])).toEqual([3, 1, 3]);
    expect(DENSITY_EDGES.length).toBe(21);
    expect([DENSITY_EDGES[0], DENSITY_EDGES[20]]).toEqual([-10, 0]);
  });
});
