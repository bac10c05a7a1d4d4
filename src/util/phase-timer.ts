/** The phases a training step's time is split into (the benchmark reports each). */
export const PHASES = ['data', 'encode', 'decode', 'backward', 'optimizer', 'bookkeeping'] as const;
export type Phase = (typeof PHASES)[number];

/**
 * Attributes wall time to phases: `lap(p)` charges the time since the previous lap to p.
 * Only meaningful on backends that run ops synchronously (wasm, cpu, tfjs-node); kernels call it
 * between ops and it costs one clock read.
 */
export class PhaseTimer {
  readonly ms: Record<Phase, number> = { data: 0, encode: 0, decode: 0, backward: 0, optimizer: 0, bookkeeping: 0 };
  private last = performance.now();

  /** Start a new interval without charging anything. */
  reset(): void {
    this.last = performance.now();
  }

  lap(phase: Phase): void {
    const now = performance.now();
    this.ms[phase] += now - this.last;
    this.last = now;
  }

  /**
   * Charge the time since the previous lap to phases measured elsewhere (another thread's clock):
   * each of `parts` its own milliseconds, and what they leave over (or lack) to `rest`.
   */
  split(parts: Partial<Record<Phase, number>>, rest: Phase): void {
    const now = performance.now();
    let left = now - this.last;
    for (const [p, ms] of Object.entries(parts) as [Phase, number][]) {
      this.ms[p] += ms;
      left -= ms;
    }
    this.ms[rest] += left;
    this.last = now;
  }

  /** Per-phase totals, then zeroed. */
  take(): Record<Phase, number> {
    const out = { ...this.ms };
    for (const p of PHASES) this.ms[p] = 0;
    return out;
  }
}
