import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { SLOT, StepAborted, StepSync } from '../../../src/step/workers/step-sync.js';

// The built module, as the worker threads load it (the test command builds first).
const built = pathToFileURL(path.resolve(__dirname, '../../../dist/step/workers/step-sync.js')).href;

/**
 * Each of `n` threads, `rounds` times: write its slot, meet the others, check every slot holds
 * this round's value, meet again. abortAt: thread 0 aborts instead of arriving in that round.
 * Resolves with each thread's report: its mismatches, and whether it stopped on StepAborted.
 */
function meet(n: number, rounds: number, abortAt = -1): Promise<{ mismatches: number; aborted: boolean; round: number }[]> {
  const sync = StepSync.create(n);
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.url).then(({ StepSync, StepAborted }) => {
      const { buffer, n, k, rounds, abortAt } = workerData;
      const sync = new StepSync(buffer, n);
      let mismatches = 0;
      let r = 0;
      try {
        for (; r < rounds; r++) {
          if (k === 0 && r === abortAt) { sync.abort(); break; }
          sync.set(k, 0, r * 100 + k);
          sync.arrive();
          for (let j = 0; j < n; j++) if (sync.get(j, 0) !== r * 100 + j) mismatches++;
          sync.arrive();
        }
        parentPort.postMessage({ mismatches, aborted: false, round: r });
      } catch (e) {
        parentPort.postMessage({ mismatches, aborted: e instanceof StepAborted, round: r });
      }
    });`;
  return Promise.all(
    Array.from({ length: n }, (_, k) => {
      const w = new Worker(code, { eval: true, workerData: { url: built, buffer: sync.buffer, n, k, rounds, abortAt } });
      return new Promise<{ mismatches: number; aborted: boolean; round: number }>((resolve, reject) => {
        w.once('message', (m) => {
          resolve(m);
          void w.terminate();
        });
        w.once('error', reject);
      });
    }),
  );
}

describe('StepSync', () => {
  it('holds every thread at the barrier until all arrive: each sees the others\' writes of the same round', async () => {
    const reports = await meet(4, 300);
    expect(reports).toEqual(Array.from({ length: 4 }, () => ({ mismatches: 0, aborted: false, round: 300 })));
  });

  it('releases the threads waiting at the barrier when one aborts (StepAborted, no hang)', async () => {
    const reports = await meet(3, 50, 7);
    expect(reports[0]).toEqual({ mismatches: 0, aborted: false, round: 7 });
    // Released at the first barrier of round 7, or already at the last one of round 6 (the abort
    // came before they woke from it): either way every round before was complete.
    for (const r of reports.slice(1)) {
      expect(r).toMatchObject({ mismatches: 0, aborted: true });
      expect([6, 7]).toContain(r.round);
    }
  });

  it('passes a lone worker through; after abort() every arrival throws until reset()', () => {
    const sync = StepSync.create(1);
    sync.arrive();
    sync.abort();
    expect(() => sync.arrive()).toThrow(StepAborted);
    sync.reset();
    sync.arrive();
  });

  it('adds a slot over the workers in worker order, from a start', () => {
    const sync = StepSync.create(3);
    [0.1, 0.2, 0.3].forEach((v, k) => sync.set(k, SLOT.sumSquares, v));
    sync.set(1, SLOT.nnz, 5);
    expect(sync.sum(SLOT.sumSquares, 1)).toBe(1 + 0.1 + 0.2 + 0.3);
    expect(sync.sum(SLOT.nnz)).toBe(5);
    expect(sync.get(1, SLOT.sumSquares)).toBe(0.2);
  });
});
