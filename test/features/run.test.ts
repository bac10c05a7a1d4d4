import { describe, it, expect, beforeAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '../../src/backend/tfjs.js';
import { initBackend } from '../../src/backend/select.js';
import { computeFeatureStats } from '../../src/features/stats.js';
import { computeRunFeatureStats, summaryPathFor } from '../../src/features/run.js';
import { readFeatureStats } from '../../src/features/table.js';
import { randomData, randomWeights } from '../helpers/tensors.js';
import { rmTmp, tmpDir } from '../helpers/cli.js';
import { dumpSource, makeDump, writeDumpArrow, writeRun } from './fixture.js';

describe('computeRunFeatureStats', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('reads the run and an Arrow dump, uses the run config defaults and resample log, writes into the run or --out', async () => {
    const d = 4;
    const m = 10;
    const w = randomWeights(d, m, 31);
    const dump = makeDump(randomData(250, d, 32), d);
    const dir = tmpDir();
    try {
      const run = path.join(dir, 'run');
      writeRun(run, w);
      fs.writeFileSync(path.join(run, 'resample.jsonl'), '{"type":"event","step":7,"indices":[3]}\n');
      const data = path.join(dir, 'dump.arrow');
      writeDumpArrow(data, dump);
      const before = tf.memory().numTensors;
      const res = await computeRunFeatureStats({ run, data: [data], backend: 'cpu' });
      expect(tf.memory().numTensors).toBe(before);
      expect(res.arrowPath).toBe(path.join(run, 'features.arrow'));
      expect(res.summary.rows).toBe(250);
      // writeRun's config says topK 4, contextTokens 2, denseThreshold 0.5.
      expect(res.summary.settings).toEqual({ topK: 4, contextTokens: 2, denseThreshold: 0.5, deadThreshold: 0 });
      const stats = readFeatureStats(run);
      expect(stats.resampleCount[3]).toBe(1);
      expect(stats.lastResampleStep[3]).toBe(7);

      // Same numbers as the library on the in-memory dump (the Arrow path loses nothing).
      const direct = await computeFeatureStats(w, dumpSource(dump, [64]), { topK: 4, contextTokens: 2, denseThreshold: 0.5 });
      expect(Array.from(stats.fireCount)).toEqual(Array.from(direct.fireCount));
      expect(stats.topExamples.map((l) => l.map((e) => [e.rowId, e.context.join('|'), e.focus]))).toEqual(
        direct.topExamples.map((l) => l.map((e) => [e.rowId, e.context.join('|'), e.focus])),
      );

      const out = path.join(dir, 'other.arrow');
      const res2 = await computeRunFeatureStats({ run, data: [data], out, topK: 1, contextTokens: 0, maxRows: 100 });
      expect([res2.arrowPath, res2.jsonPath]).toEqual([out, path.join(dir, 'other.json')]);
      const other = readFeatureStats(out);
      expect(other.rows).toBe(100);
      expect(Math.max(...other.topExamples.map((l) => l.length))).toBe(1);
      expect(readFeatureStats(run).rows).toBe(250); // the run's own table is untouched
      expect(summaryPathFor('x/y.bin')).toBe('x/y.bin.json');

      await expect(computeRunFeatureStats({ run: path.join(dir, 'missing'), data: [data] })).rejects.toThrow(/does not exist/);
      const wide = path.join(dir, 'wide.arrow');
      writeDumpArrow(wide, makeDump(randomData(20, 3, 1), 3));
      await expect(computeRunFeatureStats({ run, data: [wide], force: true })).rejects.toThrow(/width 3, but the dictionary in .* has input width 4/);
    } finally {
      rmTmp(dir);
    }
  });
});
