import { describe, expect, it } from 'vitest';
import { checkpointDue } from '../../../src/io/checkpoint/schedule.js';

describe('checkpointDue', () => {
  const s = { everySteps: 10, everyMinutes: 0, totalSteps: 35 };
  it('fires on step boundaries and at the end only', () => {
    const due = Array.from({ length: 35 }, (_, i) => i + 1).filter((step) => checkpointDue(step, 0, s));
    expect(due).toEqual([10, 20, 30, 35]);
  });
  it('fires by time when minutes have passed, independent of steps', () => {
    const t = { everySteps: 0, everyMinutes: 2, totalSteps: 100 };
    expect(checkpointDue(7, 119.9, t)).toBe(false);
    expect(checkpointDue(7, 120, t)).toBe(true);
    expect(checkpointDue(7, 1e9, { ...t, everyMinutes: 0 })).toBe(false);
    expect(checkpointDue(100, 0, t)).toBe(true);
  });
});
