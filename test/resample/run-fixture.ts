/**
 * A hand-scripted run directory for the resample report (not a test file itself). The records of
 * resample.jsonl come from the real ResampleMonitor driven by a scripted firing history:
 *   m = 8, 40 steps, events at 10, 20, 30, dead window 5, metrics every 5 steps.
 *   event 1 @10: features 0-3 dead and resampled; 0 and 1 fire at step 12, 2 at 17, 3 never.
 *   event 2 @20: 3 and 5 dead (3 again) and resampled; 3 fires at 21, 5 at 24.
 *   event 3 @30: nothing dead.
 */
import fs from 'node:fs';
import path from 'node:path';
import { appendJsonLine } from '../../src/io/atomic.js';
import { RUN_FORMAT_VERSION, type MetricsRecord, type RunInfo } from '../../src/io/run-layout.js';
import type { ResampleResult } from '../../src/resample/resample.js';
import { ResampleMonitor } from '../../src/resample/monitor.js';

export const M = 8;

function result(indices: number[]): ResampleResult {
  return {
    indices: Int32Array.from(indices),
    draws: indices.map((f) => ({ poolIndex: f, rowId: 1000 + f, loss: 2 + f, tokenId: 40 + f, token: `tok${f}`, docId: 3, pos: f })),
    mode: 'loss-squared',
    pool: { rows: 64, excluded: 0, mse: 1.5, explainedVariance: 0.6, loss: { count: 64, mean: 1.5, std: 0.5, min: 0.2, p50: 1.4, p90: 2.2, p99: 3, max: 3.1 } },
    drawnLoss: { count: indices.length, mean: 2.5, std: 0.3, min: 2, p50: 2.5, p90: 3, p99: 3, max: 3 },
    encoderNorm: 0.8,
    aliveFeatures: M - indices.length,
    scoredOn: 'this thread',
  };
}

export function metricsAt(step: number): MetricsRecord {
  return {
    step, tokens: step * 32, lr: 1e-3, l1Coefficient: 5e-3,
    loss: 1 + step / 100, mse: 0.5, l1: 10, explainedVariance: 0.5 + step / 100, l0: 4,
    deadFraction: ({ 10: 0.5, 20: 0.25 } as Record<number, number>)[step] ?? 0.125,
    tokensPerSecond: 100, elapsedSeconds: step / 10, split: 'train',
  };
}

export interface FixtureOptions {
  /** Stop after this step (an interrupted run): no finish(), status interrupted. */
  stopAt?: number;
  resample?: Record<string, unknown>;
}

/** Write the run into dir (created). Returns dir. */
export function writeRun(dir: string, opts: FixtureOptions = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  const last = opts.stopAt ?? 40;
  const resample = opts.resample ?? { every: 10, until: 30, deadWindow: 5, samples: 64 };
  fs.writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({ formatVersion: RUN_FORMAT_VERSION, data: { train: ['x.arrow'] }, train: { steps: 40, batchSize: 32 }, resample }),
  );
  const info: RunInfo = {
    formatVersion: RUN_FORMAT_VERSION, status: opts.stopAt ? 'interrupted' : 'finished',
    createdAt: '2024-01-01T00:00:00Z', updatedAt: '2024-01-01T00:01:00Z', backend: 'cpu', d: 4, m: M,
    totalSteps: 40, step: last, tokens: last * 32, inputScale: 1, dataMetadata: {}, trainRows: 4096, evalRows: 256, seed: 0,
  };
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(info));
  const metrics = path.join(dir, 'metrics.jsonl');
  const log = path.join(dir, 'resample.jsonl');
  if (resample.enabled === false) {
    for (let s = 5; s <= last; s += 5) appendJsonLine(metrics, metricsAt(s));
    return dir;
  }
  const firing: Record<number, number[]> = { 12: [0, 1], 17: [2], 21: [3], 24: [5] };
  const events: Record<number, number[]> = { 10: [0, 1, 2, 3], 20: [3, 5], 30: [] };
  const mon = new ResampleMonitor(M, 5);
  for (let step = 1; step <= last; step++) {
    const fired = Array.from({ length: M }, (_, i) => ((firing[step] ?? []).includes(i) || i >= 6 ? 1 : 0));
    for (const r of mon.afterStep(step, fired)) appendJsonLine(log, r);
    if (step % 5 === 0) appendJsonLine(metrics, metricsAt(step));
    const dead = events[step];
    if (dead) {
      const rec = mon.onEvent(step, Int32Array.from(dead), dead.length ? result(dead) : null, {
        deadFraction: dead.length / M,
        before: metricsAt(step),
      });
      appendJsonLine(log, rec);
    }
  }
  if (!opts.stopAt) for (const r of mon.finish(last)) appendJsonLine(log, r);
  return dir;
}

/** Cut the last line of a file short (a write interrupted mid-line). */
export function truncateLastLine(file: string): void {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.trimEnd().split('\n');
  const lastLine = lines.pop()!;
  fs.writeFileSync(file, [...lines, lastLine.slice(0, Math.floor(lastLine.length / 2))].join('\n'));
}
