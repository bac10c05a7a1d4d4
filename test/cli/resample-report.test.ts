import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmTmp, runCli, tmpDir } from '../helpers/cli.js';
import { truncateLastLine, writeRun } from '../resample/run-fixture.js';

const dir = tmpDir('sae-cli-resample-');
afterAll(async () => rmTmp(dir));

describe('sae resample-report', () => {
  it('prints a table or JSON for a run (Markdown: see the formatReport tests)', async () => {
    const run = writeRun(path.join(dir, 'done'));
    const text = await runCli(['resample-report', run]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/3 resampling events, 6 features resampled in all/);
    expect(text.stdout).toMatch(/^\s*1\s+10\s+4 \(50\.0%\)\s+4\s+2\/4\s+1 \(next event\)/m);
    expect(text.stdout).toContain('▃█▃▅▃▃▃▃');

    const json = await runCli(['resample-report', run, '--json']);
    expect(json.status).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.events.map((e: { step: number }) => e.step)).toEqual([10, 20, 30]);
    expect(report.events[0]).toMatchObject({ dead: 4, resampled: 4, revived: 2, deadAgain: 1, stayedAlive: 2 });
    expect(json.stderr).toBe('');
  });

  it('reads a run interrupted mid-write', async () => {
    const run = writeRun(path.join(dir, 'cut'), { stopAt: 27 });
    truncateLastLine(path.join(run, 'resample.jsonl'));
    const r = await runCli(['resample-report', run]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/interrupted at step 27 of 40/);
    expect(r.stdout).toMatch(/pending/);
  });

  it('explains a run without resampling (exit 0) and refuses a path that is not a run (exit 1)', async () => {
    const off = await runCli(['resample-report', writeRun(path.join(dir, 'off'), { resample: { enabled: false } })]);
    expect(off.status).toBe(0);
    expect(off.stdout).toMatch(/does not resample dead features/);

    const notRun = path.join(dir, 'plain');
    fs.mkdirSync(notRun);
    const bad = await runCli(['resample-report', notRun]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^error: .*plain is not a run directory/m);
    expect(bad.stderr).toMatch(/^hint: /m);
    expect(bad.stderr).not.toMatch(/at .*\.js:\d+/);

    const fmt = await runCli(['resample-report', notRun, '--format', 'html']);
    expect(fmt.status).not.toBe(0);
    expect(fmt.stderr).toMatch(/html.*(text|md)/s);
  });
});
