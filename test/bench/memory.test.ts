import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BASELINE_BYTES, MEMORY_DEFAULTS, WORKER_BASELINE_BYTES, formatMemoryReport, memoryBound, runMemoryBench } from '../../src/bench/memory.js';
import { DEFAULT_SPARSE_CAPACITY, layoutBytes } from '../../src/step/workers/layout.js';

describe('memoryBound', () => {
  it('adds shuffle buffer, batch intermediates, weights + Adam and the baseline', () => {
    const b = memoryBound({ shuffleBuffer: 10, batchSize: 3, d: 2, m: 5, workers: 0 }, 7);
    expect(b.shuffleBuffer).toBe(10 * 2 * 4);
    expect(b.batchIntermediates).toBe(4 * 3 * 5 * 4);
    expect(b.weightsAndAdam).toBe(6 * 2 * 5 * 4);
    expect(b.workers).toBe(0);
    expect(b.baseline).toBe(7);
    expect(b.total).toBe(80 + 240 + 240 + 7);
    // Two workers: their runtimes plus the shared memory (state, gradients, step and entry buffers).
    const two = memoryBound({ shuffleBuffer: 10, batchSize: 3, d: 2, m: 5, workers: 2 }, 7);
    expect(two.workers).toBe(2 * WORKER_BASELINE_BYTES + layoutBytes(3, 2, 5, 2, DEFAULT_SPARSE_CAPACITY));
    expect(layoutBytes(3, 2, 5, 2, DEFAULT_SPARSE_CAPACITY)).toBeGreaterThan(8 * 2 * 5 * 4);
    expect(two.total).toBe(b.total + two.workers);
  });

  it('matches the issue defaults (d 256, m 1024, batch 4096, buffer 65536)', () => {
    const b = memoryBound({ shuffleBuffer: 65536, batchSize: 4096, d: 256, m: 1024, workers: 0 });
    expect(b.shuffleBuffer).toBe(64 * 2 ** 20);
    expect(b.batchIntermediates).toBe(64 * 2 ** 20);
    expect(b.weightsAndAdam).toBe(6 * 2 ** 20);
    expect(b.total).toBe(134 * 2 ** 20 + BASELINE_BYTES);
  });
});

describe('runMemoryBench (tiny)', () => {
  it('generates, streams and trains, reports numbers, and cleans up', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-'));
    try {
      const bytes = 2000 * 16 * 4;
      const r = await runMemoryBench({
        ...MEMORY_DEFAULTS, bytes, dim: 16, width: 32, steps: 4, batchSize: 128, shuffleBuffer: 512, statsRows: 200, backend: 'cpu', dir,
      });
      // BatchStream drops the last partial batch.
      expect(r.dataPass.rows).toBe(Math.floor(2000 / 128) * 128);
      expect(r.fileBytes).toBeGreaterThanOrEqual(bytes);
      expect(r.training.steps).toBe(4);
      for (const v of [r.dataPass.seconds, r.dataPass.rowsPerSecond, r.dataPass.peakRssBytes, r.training.peakRssBytes, r.bound.total]) {
        expect(Number.isFinite(v) && v > 0).toBe(true);
      }
      expect(r.training.peakRssBytes).toBeGreaterThanOrEqual(r.dataPass.peakRssBytes);
      expect(r.bound).toEqual(memoryBound({ shuffleBuffer: 512, batchSize: 128, d: 16, m: 32, workers: r.training.workers }));
      expect(formatMemoryReport(r)).toContain('predicted bound');
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
