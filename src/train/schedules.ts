/**
 * Schedules: pure functions of the step number (1-based: the step about to be taken).
 * As in nanoGPT's get_lr: read top to bottom, no state.
 */

export interface LrSchedule {
  lr: number;
  totalSteps: number;
  warmupSteps: number;
  decay: 'none' | 'linear' | 'cosine';
  /** Fraction of the run, at its end, over which the rate decays. */
  decayFraction: number;
  /** Final rate as a fraction of lr. */
  minFactor: number;
  /** Steps at which a re-warm-up starts (after resampling), and its length (0: none). */
  rewarmupAt?: readonly number[];
  rewarmupSteps?: number;
}

/** Learning rate for `step` (1-based). */
export function learningRate(step: number, s: LrSchedule): number {
  let factor = 1;
  if (s.warmupSteps > 0 && step <= s.warmupSteps) factor = step / s.warmupSteps;
  if (s.decay !== 'none') {
    const decaySteps = Math.max(1, Math.round(s.totalSteps * s.decayFraction));
    const start = s.totalSteps - decaySteps;
    if (step > start) {
      const p = Math.min(1, (step - start) / decaySteps);
      const shape = s.decay === 'linear' ? 1 - p : 0.5 * (1 + Math.cos(Math.PI * p));
      factor *= s.minFactor + (1 - s.minFactor) * shape;
    }
  }
  if (s.rewarmupSteps && s.rewarmupAt) {
    // Most recent event at or before this step.
    let last = -1;
    for (const at of s.rewarmupAt) if (at < step && at > last) last = at;
    if (last >= 0 && step - last <= s.rewarmupSteps) factor *= (step - last) / s.rewarmupSteps;
  }
  return s.lr * factor;
}

/** L1 coefficient for `step` (1-based): linear warm-up from 0 over warmupSteps, then constant. */
export function l1Coefficient(step: number, l1: number, warmupSteps: number): number {
  if (warmupSteps > 0 && step <= warmupSteps) return (l1 * step) / warmupSteps;
  return l1;
}
