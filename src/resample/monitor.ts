import { CheckpointError } from '../errors.js';
import type { MetricsRecord } from '../io/run-layout.js';
import type { ResampleResult } from './resample.js';
import {
  RESAMPLE_LOG_VERSION,
  type BeforeEvent,
  type NextEventCheck,
  type ResampleEndRecord,
  type ResampleEventRecord,
  type ResampleWindowRecord,
} from './log.js';

/** The features of one event, followed until the next event (or the end of training). */
interface Tracked {
  event: number;
  step: number;
  indices: number[];
  /** Per tracked feature: the last step it fired (the event step until it does). */
  lastFired: number[];
  /** Set when the window record was written: the features that did not fire in it. */
  notRevived: number[] | null;
}

export interface MonitorSnapshot {
  version: number;
  events: number;
  tracked: Tracked | null;
}

/**
 * Follows the features resampled at each event (Towards Monosemanticity asks whether resampled
 * features come alive and stay alive) and writes the records of resample.jsonl. The trainer calls
 * afterStep every step, onEvent at each event (after resetting the FiringTracker), finish at the
 * end. Since deadWindow <= the gap between events, only the latest event needs following.
 */
export class ResampleMonitor {
  private events = 0;
  private tracked: Tracked | null = null;

  constructor(
    readonly m: number,
    readonly deadWindow: number,
  ) {}

  /** Per step: fired[i] = rows in which feature i fired. Returns the records due now. */
  afterStep(step: number, fired: ArrayLike<number>): ResampleWindowRecord[] {
    const t = this.tracked;
    if (!t) return [];
    t.indices.forEach((f, k) => {
      if (fired[f]! > 0) t.lastFired[k] = step;
    });
    if (t.notRevived === null && step - t.step >= this.deadWindow) return [this.windowRecord(t, step)];
    return [];
  }

  /**
   * The record of an event at `step`. dead: the features dead now (ascending); result: what
   * resampleDead did (null when nothing was dead); context: the dead fraction and the last metrics.
   */
  onEvent(
    step: number,
    dead: Int32Array,
    result: ResampleResult | null,
    context: { deadFraction: number; before: MetricsRecord | null },
  ): ResampleEventRecord {
    const previousEvent = this.tracked ? this.nextEventCheck(this.tracked, dead) : null;
    const indices = result ? Array.from(result.indices) : [];
    const event = this.events++;
    this.tracked = indices.length ? { event, step, indices, lastFired: indices.map(() => step), notRevived: null } : null;
    const b = context.before;
    return {
      type: 'event',
      version: RESAMPLE_LOG_VERSION,
      step,
      event,
      m: this.m,
      deadWindow: this.deadWindow,
      dead: dead.length,
      deadFraction: context.deadFraction,
      resampled: indices.length,
      indices,
      draws: result ? result.draws.map((r, k) => ({ feature: indices[k]!, ...r })) : [],
      mode: result?.mode ?? null,
      pool: result?.pool ?? null,
      drawnLoss: result?.drawnLoss ?? null,
      encoderNorm: result && Number.isFinite(result.encoderNorm) ? result.encoderNorm : null,
      before: b ? ({ step: b.step, loss: b.loss, mse: b.mse, explainedVariance: b.explainedVariance, l0: b.l0, deadFraction: b.deadFraction } satisfies BeforeEvent) : null,
      previousEvent,
    };
  }

  /** At the end of training: the last event's window (if still open) and its state now. */
  finish(step: number): (ResampleWindowRecord | ResampleEndRecord)[] {
    const t = this.tracked;
    if (!t) return [];
    const out: (ResampleWindowRecord | ResampleEndRecord)[] = [];
    if (t.notRevived === null) out.push(this.windowRecord(t, step));
    const judged = step - t.step >= this.deadWindow;
    const deadAtEnd = judged ? t.indices.filter((_, k) => step - t.lastFired[k]! >= this.deadWindow) : [];
    const gone = new Set([...t.notRevived!, ...deadAtEnd]);
    const revivedAndAlive = t.indices.filter((f) => !gone.has(f)).length;
    out.push({
      type: 'end',
      version: RESAMPLE_LOG_VERSION,
      step,
      event: t.event,
      eventStep: t.step,
      resampled: t.indices.length,
      deadAtEnd: judged ? deadAtEnd.length : null,
      deadAtEndIndices: deadAtEnd,
      stayedAlive: judged ? revivedAndAlive : null,
    });
    this.tracked = null;
    return out;
  }

  snapshot(): MonitorSnapshot {
    return { version: RESAMPLE_LOG_VERSION, events: this.events, tracked: this.tracked ? structuredClone(this.tracked) : null };
  }

  static restore(s: unknown, m: number, deadWindow: number): ResampleMonitor {
    const snap = s as Partial<MonitorSnapshot> | null;
    const t = snap?.tracked;
    const ok =
      snap !== null &&
      typeof snap === 'object' &&
      Number.isInteger(snap.events) &&
      (t === null ||
        (t !== undefined &&
          Array.isArray(t.indices) &&
          Array.isArray(t.lastFired) &&
          t.indices.length === t.lastFired.length &&
          t.indices.every((i) => Number.isInteger(i) && i >= 0 && i < m) &&
          (t.notRevived === null || Array.isArray(t.notRevived))));
    if (!ok) {
      throw new CheckpointError(
        'the checkpoint holds no valid resampling monitor state (components.monitor)',
        'The checkpoint is damaged or from another version of sae; resume from an earlier checkpoint or start again.',
      );
    }
    const mon = new ResampleMonitor(m, deadWindow);
    mon.events = snap!.events!;
    mon.tracked = t ? structuredClone(t) : null;
    return mon;
  }

  private windowRecord(t: Tracked, step: number): ResampleWindowRecord {
    t.notRevived = t.indices.filter((_, k) => t.lastFired[k]! <= t.step);
    return {
      type: 'window',
      version: RESAMPLE_LOG_VERSION,
      step,
      event: t.event,
      eventStep: t.step,
      resampled: t.indices.length,
      revived: t.indices.length - t.notRevived.length,
      notRevivedIndices: t.notRevived,
      complete: step - t.step >= this.deadWindow,
    };
  }

  private nextEventCheck(t: Tracked, dead: Int32Array): NextEventCheck {
    const isDead = new Set(dead);
    const notRevived = new Set(t.notRevived ?? t.indices.filter((_, k) => t.lastFired[k]! <= t.step));
    const deadAgainIndices = t.indices.filter((f) => isDead.has(f));
    return {
      event: t.event,
      eventStep: t.step,
      resampled: t.indices.length,
      deadAgain: deadAgainIndices.length,
      deadAgainIndices,
      stayedAlive: t.indices.filter((f) => !isDead.has(f) && !notRevived.has(f)).length,
    };
  }
}
