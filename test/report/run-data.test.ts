import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunError } from '../../src/errors.js';
import { gatherRunReport } from '../../src/report/run-data.js';
import { rmTmp, tmpDir } from '../helpers/cli.js';
import { truncateLastLine } from '../resample/run-fixture.js';
import { syntheticStats, writeFreshRun, writeReportRun } from './report-fixture.js';

let dir: string;
beforeEach(() => {
  dir = tmpDir('sae-report-');
});
afterEach(() => rmTmp(dir));

const files = (missing: { file: string }[]) => missing.map((m) => path.basename(m.file));

describe('gatherRunReport', () => {
  it('reads everything of a finished run: metrics by step, eval, resampling, features', () => {
    const run = writeReportRun(path.join(dir, 'run'), { stats: syntheticStats({ m: 8, d: 4 }) });
    const r = gatherRunReport(run);
    expect(r.missing).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.metrics.map((m) => m.step)).toEqual([5, 10, 15, 20, 25, 30, 35, 40]);
    expect(r.evalMetrics?.explainedVariance).toBe(0.75);
    expect(r.resample.events.map((e) => e.step)).toEqual([10, 20, 30]);
    expect(r.features?.m).toBe(8);
    expect(r.featuresSummary?.features).toBe(8);
  });

  it('the kernel and workers from the newest checkpoint, when one records them', () => {
    const run = writeReportRun(path.join(dir, 'ck'));
    expect(gatherRunReport(run).kernel).toBeNull();
    for (const [step, current] of [[20, 'dense'], [40, 'sparse']] as const) {
      const ck = path.join(run, 'checkpoints', `step-${String(step).padStart(8, '0')}`);
      fs.mkdirSync(ck, { recursive: true });
      fs.writeFileSync(path.join(ck, 'state.json'), JSON.stringify({ step, components: { kernel: { current, lastL0: 3.5, workers: 2 } } }));
    }
    expect(gatherRunReport(run).kernel).toEqual({ step: 40, current: 'sparse', workers: 2, lastL0: 3.5 });
    // Since workerThreads: the worker threads, 0 for none; before it, `workers` 1 meant none.
    const newest = path.join(run, 'checkpoints', 'step-00000040', 'state.json');
    for (const [kernel, threads] of [
      [{ workerThreads: 1, workers: 1 }, 1],
      [{ workerThreads: 0 }, 0],
      [{ workers: 1 }, 0],
      [{ workers: 3 }, 3],
    ] as const) {
      fs.writeFileSync(newest, JSON.stringify({ step: 40, components: { kernel: { current: 'sparse', lastL0: 3.5, ...kernel } } }));
      expect(gatherRunReport(run).kernel?.workers, JSON.stringify(kernel)).toBe(threads);
    }
  });

  it('names what a finished run lacks (features.arrow) and how to get it', () => {
    const r = gatherRunReport(writeReportRun(path.join(dir, 'run')));
    expect(files(r.missing)).toEqual(['features.json', 'features.arrow']);
    expect(r.missing[1]!.why).toContain('sae stats');
    expect(r.features).toBeNull();
  });

  it('a run that has only started: no metrics yet, nothing evaluated, status said', () => {
    const r = gatherRunReport(writeFreshRun(path.join(dir, 'fresh')));
    expect(r.metrics).toEqual([]);
    expect(files(r.missing)).toEqual(['metrics.jsonl', 'eval.json', 'features.json', 'features.arrow']);
    expect(r.missing[0]!.why).toBe('no metrics yet: the trainer logs every 25 steps (run at step 0)');
    expect(r.missing[1]!.why).toContain('still training (step 0 of 100)');
  });

  it('an interrupted run with a truncated log: the readable part, and a warning', () => {
    const run = writeReportRun(path.join(dir, 'int'), { stopAt: 23, eval: false });
    truncateLastLine(path.join(run, 'metrics.jsonl'));
    const r = gatherRunReport(run);
    expect(r.metrics.map((m) => m.step)).toEqual([5, 10, 15]);
    expect(r.warnings.join('\n')).toContain('metrics.jsonl: the last line is incomplete');
    expect(r.missing.find((m) => m.file.endsWith('eval.json'))!.why).toContain('interrupted at step 23 of 40');
  });

  it('a damaged features.arrow or eval.json is reported on the page, not thrown', () => {
    const run = writeReportRun(path.join(dir, 'bad'), { stats: syntheticStats({ m: 8, d: 4 }) });
    fs.writeFileSync(path.join(run, 'features.arrow'), 'not arrow');
    fs.writeFileSync(path.join(run, 'eval.json'), '{"rows": 2');
    const r = gatherRunReport(run);
    expect(files(r.missing)).toEqual(['eval.json', 'features.arrow']);
    expect(r.missing[0]!.why).toContain('not valid JSON');
    expect(r.missing[1]!.why).toContain('unreadable Arrow file');
  });

  it('refuses a folder that is not a run', () => {
    expect(() => gatherRunReport(dir)).toThrow(RunError);
  });
});
