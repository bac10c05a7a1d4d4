import { describe, expect, it } from 'vitest';
import { WorkerPool } from '../../../src/step/workers/pool.js';

describe('WorkerPool', () => {
  it("rejects with the worker's error in one line (its stack kept for --debug), then keeps working", async () => {
    const pool = new WorkerPool(1);
    try {
      // A step before 'init' fails inside the worker.
      const err = await pool.call(0, { kind: 'centre', rows: 1 }).then(
        () => null,
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toMatch(/^worker 0: /);
      expect(err!.message).not.toContain('\n');
      expect(err!.stack).toContain('worker.js');
      await expect(pool.call(0, { kind: 'score', rows: 1 })).rejects.toThrow(/^worker 0: /);
    } finally {
      await pool.dispose();
    }
  });

  it('rejects pending and later calls once disposed', async () => {
    const pool = new WorkerPool(2);
    await pool.dispose();
    await expect(pool.call(1, { kind: 'centre', rows: 1 })).rejects.toThrow(/disposed|exited/);
  });
});
