/** Running sums of the per-step statistics between two metrics-log lines. JSON-able (checkpoints). */
export interface IntervalSums {
  steps: number;
  tokens: number;
  seconds: number;
  loss: number;
  mse: number;
  l1: number;
  l0: number;
  sse: number;
  tv: number;
}

export function emptyInterval(): IntervalSums {
  return { steps: 0, tokens: 0, seconds: 0, loss: 0, mse: 0, l1: 0, l0: 0, sse: 0, tv: 0 };
}

/** Per-step values read back from the device. */
export interface StepValues {
  loss: number;
  mse: number;
  l1: number;
  l0: number;
  sse: number;
  tv: number;
}

export function addStep(s: IntervalSums, v: StepValues, tokens: number, seconds: number): void {
  s.steps++;
  s.tokens += tokens;
  s.seconds += seconds;
  s.loss += v.loss;
  s.mse += v.mse;
  s.l1 += v.l1;
  s.l0 += v.l0;
  s.sse += v.sse;
  s.tv += v.tv;
}

/** Interval means; explained variance = 1 - sum SSE / sum of squared deviations from each batch mean. */
export function intervalMeans(s: IntervalSums): {
  loss: number;
  mse: number;
  l1: number;
  l0: number;
  explainedVariance: number;
  tokensPerSecond: number;
} {
  const n = Math.max(1, s.steps);
  return {
    loss: s.loss / n,
    mse: s.mse / n,
    l1: s.l1 / n,
    l0: s.l0 / n,
    explainedVariance: s.tv > 0 ? 1 - s.sse / s.tv : 0,
    tokensPerSecond: s.seconds > 0 ? s.tokens / s.seconds : 0,
  };
}
