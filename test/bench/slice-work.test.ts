import { describe, expect, it } from 'vitest';
import type { BenchShape } from '../../src/bench/configs.js';
import { formatSliceWork, runSliceWorkBench, SLICE_PHASES, type SliceWorkResult } from '../../src/bench/slice-work.js';

// The slice-work bench (`npm run bench -- --slice-work`): a trained sparse step's work split into
// k slices, run in turn on this thread (the SIMD loops from dist/: needs `npm run build`).

const shape: BenchShape = { name: 'wide', d: 16, m: 2048, batch: 1024, warmupSteps: 1, windows: 1, stepsPerWindow: 1, data: 'synthetic' };

describe('runSliceWorkBench', () => {
  it('times every phase of a trained step split into slices, the encoder products screened at a trained L0', async () => {
    const [one, three] = await runSliceWorkBench(shape, [1, 3], 3, 4, 2);
    for (const r of [one!, three!]) {
      expect(r.screened).toBe(true);
      // The target is a per-feature quantile of the sample: near 4 per row, not exactly.
      expect(r.l0).toBeGreaterThan(1);
      expect(r.l0).toBeLessThan(10);
      for (const p of SLICE_PHASES) expect(r.ms[p]).toBeGreaterThanOrEqual(0);
      expect(r.ms.encode).toBeGreaterThan(0);
      expect(r.ms.prepare).toBeGreaterThan(0);
      expect(r.total).toBeCloseTo(SLICE_PHASES.reduce((a, p) => a + r.ms[p], 0), 9);
    }
    expect([one!.slices, three!.slices]).toEqual([1, 3]);
    // The same features fire however the width is sliced.
    expect(Math.abs(three!.l0 - one!.l0)).toBeLessThan(0.5);
  });

  it('is not screened where many entries are active', async () => {
    const [r] = await runSliceWorkBench({ ...shape, m: 256 }, [2], 3, 32, 1);
    expect(r!.screened).toBe(false);
    expect(r!.ms.prepare).toBe(0);
  });
});

describe('formatSliceWork', () => {
  const result = (config: string, slices: number, total: number): SliceWorkResult => ({
    config, d: 8, m: 64, batch: 16, slices, l0: 2, screened: true, timedSteps: 1, total,
    ms: { centre: 0, prepare: 0, encode: total, decode: 0, residual: 0, backward: 0, update: 0 },
  });

  it('gives each total against the fewest slices, and 16 workers over 8 where both ran', () => {
    const text = formatSliceWork([result('B', 2, 100), result('B', 8, 110), result('B', 16, 125), result('C', 4, 50)]);
    expect(text).toContain('| B | 8 | 64 | 16 | 8 | 2.0 | yes | 0.0 | 0.0 | 110.0 | 0.0 | 0.0 | 0.0 | 0.0 | 110.0 | 1.100x |');
    expect(text).toContain('| C | 8 | 64 | 16 | 4 | 2.0 | yes | 0.0 | 0.0 | 50.0 | 0.0 | 0.0 | 0.0 | 0.0 | 50.0 | 1.000x |');
    expect(text).toContain('B: 16 workers over 8, with a core each and the work evenly divided: 1.76x');
    expect(text).not.toContain('C: 16 workers');
  });
});
