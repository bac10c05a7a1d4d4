import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';

/** Inputs scored per resampling event in Towards Monosemanticity. */
export const PAPER_SAMPLES = 819_200;

/** The resampling plan of one run, with every default filled in. */
export interface ResampleSchedule {
  enabled: boolean;
  /** Steps (1-based, ascending, each < totalSteps) after which an event runs. */
  steps: number[];
  /** A feature is dead at an event if it has not fired in this many preceding steps. */
  deadWindow: number;
  /** deadWindow x batchSize: a feature rarer than one firing in this many rows counts as dead. */
  deadWindowRows: number;
  /** Inputs scored per event. */
  samples: number;
  encoderScale: number;
  centre: boolean;
  rewarmupSteps: number;
  /** One line each, for the log: defaults scaled down, steps dropped. */
  warnings: string[];
}

/**
 * Resolve the resampling config against the run length and data size (pure).
 *
 * Paper defaults (Towards Monosemanticity, "Neuron Resampling"): events at 25k, 50k, 75k and
 * 100k steps, dead window 12,500 steps, 819,200 scored inputs. Scaled to the run: every
 * totalSteps / 8 until half the run (four events), window every / 2. The window may not exceed
 * the gap before any event, or features resampled at one event would be judged at the next on
 * steps before they were resampled.
 */
export function resolveResampleSchedule(
  cfg: Config['resample'],
  totalSteps: number,
  batchSize: number,
  trainRows: number,
): ResampleSchedule {
  // validateConfig fills `enabled` by architecture; a config object built elsewhere means the old default.
  const on = cfg.enabled ?? true;
  const warnings: string[] = [];
  let steps: number[];
  if (cfg.steps !== undefined) {
    const uniq = [...new Set(cfg.steps)].sort((a, b) => a - b);
    steps = uniq.filter((s) => s < totalSteps);
    const dropped = uniq.filter((s) => s >= totalSteps);
    if (dropped.length) {
      warnings.push(
        `resample.steps: ${dropped.join(', ')} ${dropped.length > 1 ? 'are' : 'is'} not before the last step (${totalSteps}) and ignored`,
      );
    }
  } else {
    const every = cfg.every ?? Math.max(1, Math.round(totalSteps / 8));
    const until = untilStep(cfg.until, totalSteps);
    steps = [];
    for (let s = every; s <= until && s < totalSteps; s += every) steps.push(s);
  }

  // Smallest gap before an event, counting the first from step 0.
  let minGap = Infinity;
  steps.forEach((s, k) => (minGap = Math.min(minGap, s - (k === 0 ? 0 : steps[k - 1]!))));
  const fallbackGap = cfg.every ?? Math.max(1, Math.round(totalSteps / 8));
  const defaultWindow = Math.max(1, Math.floor((Number.isFinite(minGap) ? minGap : fallbackGap) / 2));
  let deadWindow = cfg.deadWindow ?? defaultWindow;
  if (on && cfg.deadWindow !== undefined && deadWindow > minGap) {
    const where = cfg.steps !== undefined ? 'resample.steps' : cfg.every !== undefined ? 'resample.every' : null;
    const msg = `resample.deadWindow (${deadWindow}) is longer than the ${minGap} steps before ${
      minGap === steps[0] ? `the first event (step ${steps[0]})` : 'one of the events'
    }`;
    if (where) {
      throw new ConfigError(
        `${msg} given by ${where}; a feature resampled at one event would be judged at the next on steps before it was resampled`,
        `Set resample.deadWindow to at most ${minGap}, or space the events further apart.`,
      );
    }
    warnings.push(`${msg} of this ${totalSteps}-step run; using ${minGap}`);
    deadWindow = minGap;
  }

  let samples = cfg.samples ?? PAPER_SAMPLES;
  if (samples > trainRows) {
    samples = Math.max(0, trainRows);
    // Only a value the user gave is worth a warning; the default simply fits the data.
    if (on && cfg.samples !== undefined) {
      warnings.push(`resample.samples: ${cfg.samples} is more than the ${trainRows} training rows; scoring ${samples} rows per event`);
    }
  }

  const enabled = on && steps.length > 0 && samples > 0;
  if (on && !enabled) {
    warnings.push(
      samples === 0
        ? 'resampling is enabled but there are no training rows to draw from; it is off for this run'
        : `resampling is enabled but no event falls before the last step (${totalSteps}); it is off for this run`,
    );
  }
  return {
    enabled,
    steps: enabled ? steps : [],
    deadWindow,
    deadWindowRows: deadWindow * batchSize,
    samples,
    encoderScale: cfg.encoderScale,
    centre: cfg.centre,
    rewarmupSteps: cfg.rewarmupSteps,
    warnings,
  };
}

/** `until` as a step: a fraction of the run (<= 1) or a step number (> 1). Default: half the run. */
function untilStep(until: number | undefined, totalSteps: number): number {
  if (until === undefined) return Math.floor(totalSteps / 2);
  return until <= 1 ? Math.floor(until * totalSteps) : Math.floor(until);
}
