import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { readJsonLines } from '../../src/io/atomic.js';
import { runFile, RUN_FORMAT_VERSION, type MetricsRecord } from '../../src/io/run-layout.js';
import { RunWriter } from '../../src/io/run-writer.js';
import { rmTmp, tmpDir } from '../helpers/cli.js';

const dir = tmpDir('sae-run-writer-');
afterAll(() => rmTmp(dir));

const record = (step: number): MetricsRecord => ({
  step,
  tokens: step * 8,
  lr: 1e-3,
  l1Coefficient: 1,
  loss: 1,
  mse: 1,
  l1: 0,
  explainedVariance: 0,
  l0: 1,
  deadFraction: 0,
  tokensPerSecond: 1,
  elapsedSeconds: step,
  split: 'train',
});

describe('RunWriter', () => {
  it('writes the run files where run-layout puts them, and truncates the logs for a resume', () => {
    const out = new RunWriter(dir);
    out.config({ sae: { l1: 1 } });
    expect(JSON.parse(fs.readFileSync(runFile(dir, 'config'), 'utf8'))).toEqual({ formatVersion: RUN_FORMAT_VERSION, sae: { l1: 1 } });
    for (const step of [10, 20, 30]) out.metrics(record(step));
    out.resample({ step: 15, kind: 'event' });
    out.resample({ step: 25, kind: 'event' });
    out.evaluation({ l0: 3 });
    expect(JSON.parse(fs.readFileSync(runFile(dir, 'eval'), 'utf8'))).toEqual({ l0: 3 });
    expect(runFile(dir, 'eval').endsWith('eval.json')).toBe(true);

    out.truncateLogs(20);
    expect(readJsonLines<MetricsRecord>(runFile(dir, 'metrics')).records.map((r) => r.step)).toEqual([10, 20]);
    expect(readJsonLines<{ step: number }>(runFile(dir, 'resample')).records.map((r) => r.step)).toEqual([15]);
  });
});
