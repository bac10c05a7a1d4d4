/**
 * What the workers share to run a whole training step on one message (slice-step.ts): a barrier
 * they meet at between phases, an abort flag, and one row of numbers per worker that the others
 * read after a barrier (its active entries, error sums, gradient norm). All in one
 * SharedArrayBuffer the main thread makes and resets before each step.
 */

/** Int32 cells: arrivals at the current barrier, its generation, the abort flag. */
const COUNT = 0;
const GENERATION = 1;
const ABORT = 2;
const CELLS = 4;

/** A worker's numbers, in this order in its row of the slots. */
export const SLOT = { nnz: 0, residualSq: 1, auxSse: 2, sumSquares: 3 } as const;
const SLOTS_PER_WORKER = 4;

/** Thrown in a worker waiting at the barrier when another worker failed: it stops its step quietly. */
export class StepAborted extends Error {
  constructor() {
    super('step aborted: another worker failed');
  }
}

export class StepSync {
  private readonly cells: Int32Array;
  private readonly slots: Float64Array;

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly workers: number,
  ) {
    this.cells = new Int32Array(buffer, 0, CELLS);
    this.slots = new Float64Array(buffer, CELLS * 4, workers * SLOTS_PER_WORKER);
  }

  static create(workers: number): StepSync {
    return new StepSync(new SharedArrayBuffer(CELLS * 4 + workers * SLOTS_PER_WORKER * 8), workers);
  }

  /** Before a step (main thread, no worker in one): no arrivals, no abort. */
  reset(): void {
    Atomics.store(this.cells, COUNT, 0);
    Atomics.store(this.cells, ABORT, 0);
  }

  /**
   * Wait until every worker has arrived (worker threads only: Atomics.wait). Throws StepAborted
   * if the step was aborted before or while waiting. Writes before it are seen by every worker after it.
   */
  arrive(): void {
    const c = this.cells;
    if (Atomics.load(c, ABORT)) throw new StepAborted();
    const generation = Atomics.load(c, GENERATION);
    if (Atomics.add(c, COUNT, 1) === this.workers - 1) {
      Atomics.store(c, COUNT, 0);
      Atomics.add(c, GENERATION, 1);
      Atomics.notify(c, GENERATION);
    } else {
      // abort() moves the generation on too, so a wait that starts after it returns at once.
      while (Atomics.load(c, GENERATION) === generation) Atomics.wait(c, GENERATION, generation);
    }
    if (Atomics.load(c, ABORT)) throw new StepAborted();
  }

  /** Stop the step: every worker waiting at the barrier, or arriving later, throws StepAborted (any thread). */
  abort(): void {
    Atomics.store(this.cells, ABORT, 1);
    Atomics.add(this.cells, GENERATION, 1);
    Atomics.notify(this.cells, GENERATION);
  }

  set(worker: number, slot: number, value: number): void {
    this.slots[worker * SLOTS_PER_WORKER + slot] = value;
  }

  get(worker: number, slot: number): number {
    return this.slots[worker * SLOTS_PER_WORKER + slot]!;
  }

  /** The workers' values of a slot added in worker order, from `start` (as reduce((a, r) => a + r.v, start)). */
  sum(slot: number, start = 0): number {
    let t = start;
    for (let k = 0; k < this.workers; k++) t += this.get(k, slot);
    return t;
  }
}
