import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectData } from '../../src/data/inspect.js';
import { formatInspect } from '../../src/data/inspect-format.js';
import { measureDataThroughput } from '../../src/data/throughput.js';
import { COLS, rowsBatch, tempDir, writeIpc } from './arrow-fixture.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('inspectData', () => {
  it('computes norms and per-dimension moments like a naive two-pass reference, skipping NaN rows', async () => {
    const f = (r: number, j: number) => (r === 3 && j === 1 ? NaN : 100 + Math.sin(r * 3 + j) * (j + 1));
    const file = writeIpc(path.join(dir, 'a.arrow'), [rowsBatch(0, 5, 3, { f }), rowsBatch(5, 7, 3, { f })], 'stream');
    const rep = await inspectData([file], COLS);
    const rows = Array.from({ length: 12 }, (_, r) => r).filter((r) => r !== 3).map((r) => [0, 1, 2].map((j) => Math.fround(f(r, j))));
    const norms = rows.map((x) => Math.hypot(...x));
    expect(rep.norm.mean).toBeCloseTo(norms.reduce((a, b) => a + b) / norms.length, 9);
    expect(rep.norm.min).toBeCloseTo(Math.min(...norms), 9);
    expect(rep.norm.max).toBeCloseTo(Math.max(...norms), 9);
    const means = [0, 1, 2].map((j) => rows.reduce((s, x) => s + x[j]!, 0) / rows.length);
    const stds = [0, 1, 2].map((j) => Math.sqrt(rows.reduce((s, x) => s + (x[j]! - means[j]!) ** 2, 0) / rows.length));
    expect(rep.dimMean.min).toBeCloseTo(Math.min(...means), 9);
    expect(rep.dimMean.max).toBeCloseTo(Math.max(...means), 9);
    expect(rep.dimStd.min).toBeCloseTo(Math.min(...stds), 9);
    expect(rep.dimStd.max).toBeCloseTo(Math.max(...stds), 9);
    expect(rep.nonFinite).toEqual({ rows: 1, firstRowIds: [3] });
    expect(rep.shards[0]!.format).toBe('stream');
    const text = formatInspect(rep);
    expect(text).toContain('total: 12 rows of width 3 in 1 file(s)');
    expect(text).toContain('model: test');
  });

  it('measureDataThroughput reads one epoch of the training path', async () => {
    const file = writeIpc(path.join(dir, 'b.arrow'), [rowsBatch(0, 300, 8), rowsBatch(300, 300, 8)]);
    const t = await measureDataThroughput([file], { batchSize: 100, shuffleBuffer: 50 });
    expect(t.rows).toBe(600);
    expect(t.rowsPerSecond).toBeCloseTo(t.rows / t.seconds, 6);
  });
});
