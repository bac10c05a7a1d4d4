/**
 * Whether the next encoder product is screened (wasm/screen.ts) or plain (wasm/gemm.ts): the
 * training step's, chosen alike by every worker from the whole batch (slice-step.ts), or a
 * resampling pool's per slice (pool-score-slice.ts).
 * Both give the same active entries to the bit; the screen is the faster one when few entries are
 * active: its integer pass costs ~0.6 of the float product and every 4 x 8 tile with a candidate
 * costs one float tile more. At [4096, 512] x [512, 4096] on one thread (BENCHMARKS.md): 0.59x of
 * the product with no active entry, 0.63x at 0.02% active, about even at 0.96% (29% of the tiles
 * computed), 1.7x at 8%.
 */

/** Share of the entries active in the last encode below which the next product is screened. */
export const SCREEN_MAX_DENSITY = 0.005;

export class ScreenChoice {
  private density = Number.NaN;

  constructor(private readonly maxDensity = SCREEN_MAX_DENSITY) {}

  /** Screen the next product: only after an encode that measured few active entries. */
  use(): boolean {
    return this.density < this.maxDensity;
  }

  /** An encode's active entries (below 0: more than the slice's buffers hold) out of `entries`. */
  observe(active: number, entries: number): void {
    this.density = active < 0 || entries <= 0 ? 1 : active / entries;
  }
}
