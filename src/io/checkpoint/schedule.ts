/** When the trainer writes checkpoints (config output.checkpointEverySteps / checkpointEveryMinutes). */
export interface CheckpointSchedule {
  /** Every N optimizer steps; 0: off. */
  everySteps: number;
  /** At least this often in wall-clock minutes; 0: off. */
  everyMinutes: number;
  totalSteps: number;
}

/**
 * Whether to checkpoint after `step`: at the end of the run, on every `everySteps` boundary, or
 * when `everyMinutes` have passed since the last checkpoint (or the start of this process).
 * Timed checkpoints save work, not results: the state at a step is the same whenever it is
 * written, so they do not affect what a resumed run computes.
 */
export function checkpointDue(step: number, secondsSinceLast: number, s: CheckpointSchedule): boolean {
  if (step >= s.totalSteps) return true;
  if (s.everySteps > 0 && step % s.everySteps === 0) return true;
  return s.everyMinutes > 0 && secondsSinceLast >= s.everyMinutes * 60;
}
