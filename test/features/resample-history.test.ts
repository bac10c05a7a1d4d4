import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readResampleHistory, resampleHistoryFromRecords } from '../../src/features/resample-history.js';

describe('resample history', () => {
  it('counts events per feature, keeps the last step, accepts `indices` or `resampled`, ignores other records', () => {
    const h = resampleHistoryFromRecords([
      { type: 'event', step: 100, indices: [1, 4, 4] },
      { type: 'followup', step: 150, indices: [1] },
      { type: 'event', step: 200, resampled: [4, 7] },
      { type: 'event', indices: [9] },
      { type: 'event', step: 300, indices: 'nope' },
      null,
      'text',
    ]);
    expect([...h.entries()].sort((a, b) => a[0] - b[0])).toEqual([
      [1, { count: 1, lastStep: 100 }],
      [4, { count: 2, lastStep: 200 }],
      [7, { count: 1, lastStep: 200 }],
    ]);
  });

  it('reads resample.jsonl with a truncated last line, and an absent file as no history', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-'));
    try {
      expect(readResampleHistory(dir).size).toBe(0);
      fs.writeFileSync(
        path.join(dir, 'resample.jsonl'),
        '{"type":"event","step":10,"indices":[0,2]}\n{"type":"event","step":20,"indices":[2]}\n{"type":"event","step":30,"ind',
      );
      const h = readResampleHistory(dir);
      expect(h.get(2)).toEqual({ count: 2, lastStep: 20 });
      expect(h.get(0)).toEqual({ count: 1, lastStep: 10 });
      expect(h.size).toBe(2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
