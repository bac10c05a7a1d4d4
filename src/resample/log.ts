/**
 * The records of <run>/resample.jsonl, one JSON object per line, each with `type` and `step` (the
 * step at which it was written: a resumed run drops the lines past its checkpoint by `step`).
 *
 *   event   one per resampling event, written as it happens
 *   window  deadWindow steps after an event: which resampled features fired in that window
 *   end     at the end of training, for the last event: which of its features are dead then
 *
 * "Dead again at the next event" is part of the next event's record (`previousEvent`).
 */
import type { DrawMode, DrawnRow } from './draw.js';
import type { LossStats, PoolStats } from './score.js';

export const RESAMPLE_LOG_VERSION = 1;

/** The metrics record just before the event (from metrics.jsonl), if any. */
export interface BeforeEvent {
  step: number;
  loss: number;
  mse: number;
  explainedVariance: number;
  l0: number;
  deadFraction: number;
}

export interface ResampleEventRecord {
  type: 'event';
  version: number;
  step: number;
  /** 0-based ordinal of the event in the run. */
  event: number;
  m: number;
  deadWindow: number;
  /** Features dead at this step (not fired in the preceding deadWindow steps). */
  dead: number;
  deadFraction: number;
  /** Features rewritten (equal to `dead` unless no input could be drawn). */
  resampled: number;
  indices: number[];
  /** The drawn input of each resampled feature, in the order of `indices`. */
  draws: (DrawnRow & { feature: number })[];
  mode: DrawMode | null;
  /** The scored pool: size, MSE / explained variance of the SAE on it just before, loss statistics. */
  pool: PoolStats | null;
  drawnLoss: LossStats | null;
  encoderNorm: number | null;
  before: BeforeEvent | null;
  /** What became of the previous event's features: dead again now? */
  previousEvent: NextEventCheck | null;
}

/** The previous event's resampled features, checked at this event. */
export interface NextEventCheck {
  event: number;
  eventStep: number;
  resampled: number;
  /** Of them, dead again now. */
  deadAgain: number;
  deadAgainIndices: number[];
  /** Of them, fired within the window after their event and not dead now. */
  stayedAlive: number;
}

export interface ResampleWindowRecord {
  type: 'window';
  version: number;
  step: number;
  event: number;
  eventStep: number;
  resampled: number;
  /** Fired at least once in the steps after the event, up to `step`. */
  revived: number;
  notRevivedIndices: number[];
  /** step - eventStep === deadWindow (false: the run ended first). */
  complete: boolean;
}

export interface ResampleEndRecord {
  type: 'end';
  version: number;
  step: number;
  event: number;
  eventStep: number;
  resampled: number;
  /** Of them, dead at the end of training (null when fewer than deadWindow steps followed the event). */
  deadAtEnd: number | null;
  deadAtEndIndices: number[];
  stayedAlive: number | null;
}

export type ResampleLogRecord = ResampleEventRecord | ResampleWindowRecord | ResampleEndRecord;
