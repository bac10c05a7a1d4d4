import { ResampleSchema } from '../config/schema.js';
import { readJsonLines } from '../io/atomic.js';
import { openRun } from '../io/run-dir.js';
import { RUN_FILES, runFile, type MetricsRecord, type RunInfo } from '../io/run-layout.js';
import type { DrawMode } from './draw.js';
import type { ResampleEndRecord, ResampleEventRecord, ResampleLogRecord, ResampleWindowRecord } from './log.js';
import { resolveResampleSchedule } from './schedule.js';

/** Loss and explained variance at one logged step. */
export interface MetricsPoint {
  step: number;
  loss: number;
  explainedVariance: number;
}

/** One resampling event and what became of its features. */
export interface EventSummary {
  /** 1-based, in the order of the run. */
  event: number;
  step: number;
  dead: number;
  deadFraction: number;
  resampled: number;
  mode: DrawMode | null;
  /** Resampled features that fired within deadWindow steps after the event (null: not yet known). */
  revived: number | null;
  /** False when the run ended before the window did (revived counts the steps there were). */
  revivedWindowComplete: boolean | null;
  /** Resampled features dead again at the next event, or at the end of training for the last event. */
  deadAgain: number | null;
  deadAgainAt: 'next-event' | 'end' | null;
  /** Revived within the window and not dead again. */
  stayedAlive: number | null;
  /** Metrics records nearest before (at or before the event step) and after it. */
  before: MetricsPoint | null;
  after: MetricsPoint | null;
  poolRows: number | null;
  poolLossMean: number | null;
  drawnLossMean: number | null;
}

export interface ResampleReport {
  runDir: string;
  status: RunInfo['status'];
  step: number;
  totalSteps: number;
  m: number;
  resampleEnabled: boolean;
  deadWindow: number | null;
  /** Event steps the config plans for this run (empty when off or not derivable). */
  plannedSteps: number[];
  events: EventSummary[];
  /** Dead fraction at every training metrics record. */
  timeline: { step: number; deadFraction: number }[];
  /** Set when there is no event to show, saying why. */
  message: string | null;
  /** Problems met while reading (truncated or unreadable lines). */
  warnings: string[];
}

/**
 * Summarise the resampling of a run directory (finished, interrupted or still being written) from
 * resample.jsonl and metrics.jsonl. Throws RunError if runDir is not a run.
 */
export function buildResampleReport(runDir: string): ResampleReport {
  const run = openRun(runDir);
  const warnings: string[] = [];
  const read = <T>(key: 'metrics' | 'resample'): T[] => {
    const { records, truncated, badLines } = readJsonLines<T>(runFile(run.dir, key));
    const inner = truncated ? badLines.slice(0, -1) : badLines;
    if (truncated) warnings.push(`${RUN_FILES[key]}: the last line is incomplete (an interrupted write) and was skipped`);
    if (inner.length) warnings.push(`${RUN_FILES[key]}: unreadable line(s) ${inner.join(', ')} skipped`);
    return records.filter((r) => r !== null && typeof r === 'object');
  };
  const metrics = read<MetricsRecord>('metrics')
    .filter((r) => r.split !== 'eval' && typeof r.step === 'number')
    .sort((a, b) => a.step - b.step);
  const log = read<ResampleLogRecord>('resample');

  // Keep the last record per (type, event): a resumed run may have rewritten some.
  const byType = <K extends ResampleLogRecord['type']>(type: K) => {
    const map = new Map<number, Extract<ResampleLogRecord, { type: K }>>();
    for (const r of log) if (r.type === type && Number.isInteger(r.event)) map.set(r.event, r as Extract<ResampleLogRecord, { type: K }>);
    return map;
  };
  const events = [...byType('event').values()].sort((a, b) => a.step - b.step);
  const windows = byType('window');
  const ends = byType('end');

  const { info } = run;
  const planned = plannedSchedule(run.config, info);
  const summaries = events.map((e, k) => summarise(e, events[k + 1], windows.get(e.event), ends.get(e.event), metrics));
  let message: string | null = null;
  if (events.length === 0) {
    message = !planned.enabled
      ? `This run does not resample dead features (${planned.why}).`
      : `No resampling event recorded yet (run ${info.status} at step ${info.step} of ${info.totalSteps}` +
        (planned.steps.length ? `; events planned at step${planned.steps.length > 1 ? 's' : ''} ${planned.steps.join(', ')}).` : ').');
  }
  return {
    runDir: run.dir,
    status: info.status,
    step: info.step,
    totalSteps: info.totalSteps,
    m: info.m,
    resampleEnabled: planned.enabled,
    deadWindow: events[0]?.deadWindow ?? planned.deadWindow,
    plannedSteps: planned.steps,
    events: summaries,
    timeline: metrics.filter((r) => typeof r.deadFraction === 'number').map((r) => ({ step: r.step, deadFraction: r.deadFraction })),
    message,
    warnings,
  };
}

function summarise(
  e: ResampleEventRecord,
  next: ResampleEventRecord | undefined,
  window: ResampleWindowRecord | undefined,
  end: ResampleEndRecord | undefined,
  metrics: MetricsRecord[],
): EventSummary {
  const nextCheck = next?.previousEvent?.event === e.event ? next.previousEvent : null;
  const beforeRec = [...metrics].reverse().find((r) => r.step <= e.step);
  const afterRec = metrics.find((r) => r.step > e.step);
  const point = (r: MetricsRecord | undefined): MetricsPoint | null =>
    r ? { step: r.step, loss: r.loss, explainedVariance: r.explainedVariance } : null;
  const none = e.resampled === 0;
  return {
    event: e.event + 1,
    step: e.step,
    dead: e.dead,
    deadFraction: e.deadFraction,
    resampled: e.resampled,
    mode: e.mode,
    revived: none ? 0 : (window?.revived ?? null),
    revivedWindowComplete: none ? true : (window?.complete ?? null),
    deadAgain: none ? 0 : (nextCheck?.deadAgain ?? end?.deadAtEnd ?? null),
    deadAgainAt: none ? null : nextCheck ? 'next-event' : end && end.deadAtEnd !== null ? 'end' : null,
    stayedAlive: none ? 0 : (nextCheck?.stayedAlive ?? end?.stayedAlive ?? null),
    before: point(beforeRec) ?? (e.before ? { step: e.before.step, loss: e.before.loss, explainedVariance: e.before.explainedVariance } : null),
    after: point(afterRec),
    poolRows: e.pool?.rows ?? null,
    poolLossMean: e.pool?.loss.mean ?? null,
    drawnLossMean: e.drawnLoss?.mean ?? null,
  };
}

/** What the run's config plans (steps, window), or why it does not resample. */
function plannedSchedule(
  config: unknown,
  info: RunInfo,
): { enabled: boolean; steps: number[]; deadWindow: number | null; why: string } {
  const c = (config ?? {}) as { resample?: unknown; train?: { batchSize?: unknown } };
  const parsed = ResampleSchema.safeParse(c.resample ?? {});
  if (!parsed.success) return { enabled: true, steps: [], deadWindow: null, why: '' };
  if (parsed.data.enabled === false) return { enabled: false, steps: [], deadWindow: null, why: 'resample.enabled is false in its config' };
  const batch = typeof c.train?.batchSize === 'number' ? c.train.batchSize : 1;
  try {
    const s = resolveResampleSchedule(parsed.data, info.totalSteps, batch, info.trainRows ?? Infinity);
    if (!s.enabled) return { enabled: false, steps: [], deadWindow: s.deadWindow, why: s.warnings.at(-1) ?? 'no event fits in the run' };
    return { enabled: true, steps: s.steps, deadWindow: s.deadWindow, why: '' };
  } catch {
    return { enabled: true, steps: [], deadWindow: null, why: '' };
  }
}
