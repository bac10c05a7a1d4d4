/**
 * What a checkpoint records of the step engine's choices (components.kernel), so that a resumed
 * run continues with the same formulation and worker count. No tfjs here: the report reads it too.
 */

/** The 'auto' kernel's memory: the formulation in use and the last measured L0 (null: none yet). */
export interface KernelChoice {
  current: 'dense' | 'sparse';
  lastL0: number | null;
  /**
   * The worker threads the run started with (0: none; 'auto' resolved on its first machine), so
   * that a resumed run sums in the same order wherever it continues. Absent before the first step.
   */
  workerThreads?: number;
  /**
   * What checkpoints wrote before workerThreads (until 2026-12-02): the thread count, 1 meaning
   * this thread alone (the tfjs formulations). Read only, through recordedWorkerThreads.
   */
  workers?: number;
}

/**
 * The worker threads a checkpoint's choice recorded (an old record's 1 is 0: this thread alone);
 * undefined: none recorded. Takes the record as read from state.json (the report reads it unchecked).
 */
export function recordedWorkerThreads(c: { workerThreads?: unknown; workers?: unknown }): number | undefined {
  if (typeof c.workerThreads === 'number') return c.workerThreads;
  if (typeof c.workers === 'number') return c.workers <= 1 ? 0 : c.workers;
  return undefined;
}
