import { describe, expect, it } from 'vitest';
import { PhaseTimer } from '../../src/util/phase-timer.js';

describe('PhaseTimer.split', () => {
  it("charges another clock's phases, and what they leave of the interval to the rest phase", async () => {
    const t = new PhaseTimer();
    await new Promise((r) => setTimeout(r, 30));
    t.split({ decode: 5, backward: 7 }, 'encode');
    const ms = t.take();
    expect(ms.decode).toBe(5);
    expect(ms.backward).toBe(7);
    // The interval was at least 30 ms; encode holds the rest of it.
    expect(ms.encode + 12).toBeGreaterThanOrEqual(29);
    expect(ms.encode + 12).toBeLessThan(1000);
    expect(ms.optimizer).toBe(0);
    // The next lap starts where split ended.
    t.lap('optimizer');
    expect(t.take().optimizer).toBeLessThan(ms.encode + 12);
  });
});
