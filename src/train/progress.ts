/** What the trainer reports while it runs (the CLI renders it; the library never prints). */
export interface TrainProgress {
  step: number;
  totalSteps: number;
  tokens: number;
  tokensPerSecond: number;
  loss: number;
  mse: number;
  explainedVariance: number;
  l0: number;
  deadFraction: number;
  lr: number;
  l1Coefficient: number;
  elapsedSeconds: number;
  etaSeconds: number;
}

/** One training step as it ran (benchmarks: where a whole run's time goes). */
export interface StepTiming {
  step: number;
  /** What computed it, e.g. 'dense x2 workers' or 'sparse x2 workers (simd)' (StepEngine.describe). */
  kernel: string;
  /** From the end of the previous step's bookkeeping to the statistics read back: batch wait and step. */
  seconds: number;
  /** Mean active features per row of this batch. */
  l0: number;
}

/** Callbacks the trainer calls; all optional. */
export interface TrainHooks {
  onProgress?: (p: TrainProgress) => void;
  /** After every step (cheap: the values are already on the host). Resampling and checkpoints come after it, outside `seconds`. */
  onStep?: (s: StepTiming) => void;
  /** Informational lines and warnings (one line each). */
  onLog?: (line: string) => void;
  /**
   * Polled once per step; a non-null answer makes the trainer finish the step, write a
   * checkpoint and stop with an InterruptedError carrying this exit code (Ctrl-C / SIGTERM).
   */
  stopRequested?: () => { reason: string; exitCode: number } | null;
}

/** Seconds -> "1h02m", "3m05s", "12s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** One plain progress line (non-TTY logs and the final summary). */
export function formatProgressLine(p: TrainProgress): string {
  return (
    `step ${p.step}/${p.totalSteps}  ${Math.round(p.tokensPerSecond)} tok/s  loss ${p.loss.toFixed(4)}  ` +
    `mse ${p.mse.toFixed(4)}  ev ${p.explainedVariance.toFixed(3)}  L0 ${p.l0.toFixed(1)}  ` +
    `dead ${(100 * p.deadFraction).toFixed(1)}%  eta ${formatDuration(p.etaSeconds)}`
  );
}
