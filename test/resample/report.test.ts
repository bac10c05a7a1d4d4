import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunError } from '../../src/errors.js';
import { formatReport, sparkline } from '../../src/resample/report-format.js';
import { buildResampleReport } from '../../src/resample/report.js';
import { truncateLastLine, writeRun } from './run-fixture.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('buildResampleReport', () => {
  it('summarises every event of a finished run', () => {
    const r = buildResampleReport(writeRun(path.join(tmp, 'done')));
    expect(r).toMatchObject({ status: 'finished', step: 40, totalSteps: 40, m: 8, resampleEnabled: true, deadWindow: 5, message: null, warnings: [] });
    expect(r.plannedSteps).toEqual([10, 20, 30]);
    expect(r.events).toHaveLength(3);
    expect(r.events[0]).toMatchObject({
      event: 1, step: 10, dead: 4, deadFraction: 0.5, resampled: 4,
      revived: 2, revivedWindowComplete: true, deadAgain: 1, deadAgainAt: 'next-event', stayedAlive: 2,
      before: { step: 10, loss: 1.1, explainedVariance: 0.6 }, after: { step: 15, loss: 1.15, explainedVariance: 0.65 },
      poolRows: 64, poolLossMean: 1.5, drawnLossMean: 2.5,
    });
    expect(r.events[1]).toMatchObject({ event: 2, step: 20, dead: 2, resampled: 2, revived: 2, deadAgain: 0, deadAgainAt: 'next-event', stayedAlive: 2 });
    expect(r.events[2]).toMatchObject({ event: 3, step: 30, dead: 0, resampled: 0, deadAgain: 0 });
    expect(r.timeline.map((t) => t.step)).toEqual([5, 10, 15, 20, 25, 30, 35, 40]);
    expect(r.timeline[1]!.deadFraction).toBe(0.5);
  });

  it('reads an interrupted run whose logs end in a truncated line', () => {
    const dir = writeRun(path.join(tmp, 'cut'), { stopAt: 27 });
    truncateLastLine(path.join(dir, 'resample.jsonl'));
    truncateLastLine(path.join(dir, 'metrics.jsonl'));
    const r = buildResampleReport(dir);
    expect(r.status).toBe('interrupted');
    expect(r.warnings).toEqual([
      'metrics.jsonl: the last line is incomplete (an interrupted write) and was skipped',
      'resample.jsonl: the last line is incomplete (an interrupted write) and was skipped',
    ]);
    // The window record of event 2 (written at step 25) was the line cut short.
    expect(r.events).toHaveLength(2);
    expect(r.events[0]).toMatchObject({ revived: 2, deadAgain: 1 });
    // The metrics line of step 25 was cut short too, so event 2 has no 'after' yet.
    expect(r.events[1]).toMatchObject({ step: 20, resampled: 2, revived: null, deadAgain: null, after: null });
    expect(r.timeline.map((t) => t.step)).toEqual([5, 10, 15, 20]);
    const text = formatReport(r, 'text');
    expect(text).toMatch(/^\s*2\s+20\s+2 \(25\.0%\)\s+2\s+pending\s+pending\s+1\.200 → \?/m);
    expect(text).toMatch(/warning: resample.jsonl: the last line is incomplete/);
  });

  it('says so when the run does not resample, and refuses a folder that is not a run', () => {
    const r = buildResampleReport(writeRun(path.join(tmp, 'off'), { resample: { enabled: false } }));
    expect(r.events).toEqual([]);
    expect(r.resampleEnabled).toBe(false);
    expect(r.message).toMatch(/This run does not resample dead features \(resample.enabled is false/);
    expect(formatReport(r, 'text')).toContain(r.message!);

    const early = buildResampleReport(writeRun(path.join(tmp, 'early'), { stopAt: 7 }));
    expect(early.message).toMatch(/No resampling event recorded yet \(run interrupted at step 7 of 40; events planned at steps 10, 20, 30\)/);

    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    expect(() => buildResampleReport(empty)).toThrow(RunError);
    expect(() => buildResampleReport(path.join(tmp, 'missing'))).toThrow(/does not exist/);
  });
});

describe('formatReport', () => {
  it('prints one aligned row per event and the dead-fraction timeline', () => {
    const r = buildResampleReport(writeRun(path.join(tmp, 'fmt')));
    const text = formatReport(r, 'text');
    const lines = text.split('\n');
    const header = lines.find((l) => l.startsWith('event'))!;
    expect(header).toMatch(/event\s+step\s+dead before\s+resampled\s+revived in window\s+dead again\s+loss before → after\s+EV before → after/);
    const row1 = lines[lines.indexOf(header) + 1]!;
    expect(row1).toMatch(/^\s*1\s+10\s+4 \(50\.0%\)\s+4\s+2\/4\s+1 \(next event\)\s+1\.100 → 1\.150\s+0\.600 → 0\.650$/);
    expect(lines[lines.indexOf(header) + 3]).toMatch(/^\s*3\s+30\s+0 \(0\.0%\)\s+0\s+-\s+-/);
    expect(text).toContain('Dead fraction, steps 5-40 (scale 0-50.0%; ^ marks an event):');
    expect(text).toContain('▃█▃▅▃▃▃▃');
    const md = formatReport(r, 'md');
    expect(md).toMatch(/^## Resampling report/);
    expect(md).toMatch(/\| event \| step \| dead before \|/);
    expect(md).toMatch(/\| 2 \| 20 \| 2 \(25\.0%\) \| 2 \| 2\/2 \| 0 \(next event\) \|/);
    expect(md).toContain('```\n▃█▃▅▃▃▃▃\n ^ ^ ^\n```');
  });

  it('buckets a long timeline into the width and marks events under their steps', () => {
    const timeline = Array.from({ length: 200 }, (_, i) => ({ step: i + 1, deadFraction: i < 100 ? 0.1 : 0.8 }));
    const { bars, marks } = sparkline({ timeline, events: [{ step: 1 } as never, { step: 100 } as never, { step: 200 } as never] }, 20);
    // 0.1 of a 0.8 maximum is level 1 of 0-7.
    expect(bars).toBe('▂'.repeat(10) + '█'.repeat(10));
    expect(marks).toBe('^' + ' '.repeat(8) + '^' + ' '.repeat(9) + '^');
  });
});
