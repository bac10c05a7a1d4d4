import { InternalError } from '../errors.js';

/** Plain, JSON-able state of a FiringTracker (for checkpoints). */
export interface FiringSnapshot {
  m: number;
  /** Per feature: the last step at which it fired (0: not since training started). */
  lastFired: number[];
}

/**
 * When each feature last fired, for the dead-feature test of Towards Monosemanticity
 * ("features that have not fired on any input during the preceding window").
 *
 * Steps are 1-based and the clock starts at 0, so a feature that has never fired is dead at
 * step s only once a full window has passed (s >= window): before that there is no evidence.
 */
export class FiringTracker {
  readonly m: number;
  private readonly lastFired: Float64Array;

  constructor(m: number) {
    if (!Number.isInteger(m) || m <= 0) throw new InternalError(`FiringTracker: width must be a positive integer, got ${m}`);
    this.m = m;
    this.lastFired = new Float64Array(m);
  }

  /**
   * Record firing counts: firedCounts[i] = rows in which f_i > 0. The counts may cover several
   * steps (accumulated on the device to avoid a read-back every step); they are all attributed
   * to `step`, which errs towards calling a feature alive.
   */
  update(step: number, firedCounts: ArrayLike<number>): void {
    if (firedCounts.length !== this.m) {
      throw new InternalError(`FiringTracker.update: ${firedCounts.length} counts for ${this.m} features`);
    }
    for (let i = 0; i < this.m; i++) if (firedCounts[i]! > 0) this.lastFired[i] = step;
  }

  /** Start a fresh window for these features (just resampled at `step`), as if they fired then. */
  reset(indices: ArrayLike<number>, step: number): void {
    for (let k = 0; k < indices.length; k++) this.lastFired[indices[k]!] = step;
  }

  /** The step at which feature i last fired (0: never, or only before its last reset at 0). */
  lastFiredAt(i: number): number {
    return this.lastFired[i]!;
  }

  /** 1 for each feature that has not fired in the `window` steps up to and including `step`. */
  deadMask(step: number, window: number): Uint8Array {
    const out = new Uint8Array(this.m);
    for (let i = 0; i < this.m; i++) out[i] = step - this.lastFired[i]! >= window ? 1 : 0;
    return out;
  }

  /** Indices (ascending) of the features dead at `step`. */
  deadIndices(step: number, window: number): Int32Array {
    return indicesOf(this.deadMask(step, window));
  }

  deadFraction(step: number, window: number): number {
    let n = 0;
    for (let i = 0; i < this.m; i++) if (step - this.lastFired[i]! >= window) n++;
    return n / this.m;
  }

  snapshot(): FiringSnapshot {
    return { m: this.m, lastFired: Array.from(this.lastFired) };
  }

  static restore(s: FiringSnapshot): FiringTracker {
    if (!s || s.lastFired?.length !== s.m) {
      throw new InternalError('FiringTracker.restore: snapshot width and data length differ');
    }
    const t = new FiringTracker(s.m);
    t.lastFired.set(s.lastFired);
    return t;
  }
}

/** Ascending indices of the non-zero entries of a mask. */
export function indicesOf(mask: ArrayLike<number>): Int32Array {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  const out = new Int32Array(n);
  for (let i = 0, k = 0; i < mask.length; i++) if (mask[i]) out[k++] = i;
  return out;
}
