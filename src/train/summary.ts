import type { TrainResult } from './trainer.js';

/** What `sae train --json` prints: the run, its length and time, last log line, held-out metrics, warnings. */
export function trainSummary(r: TrainResult): Record<string, unknown> {
  const { log10DensityHistogram: _hist, ...heldOut } = r.eval;
  return {
    runDir: r.runDir,
    backend: r.backend,
    steps: r.steps,
    tokens: r.tokens,
    seconds: Number(r.seconds.toFixed(3)),
    resumedFrom: r.resumedFrom,
    last: r.last,
    heldOut,
    warnings: r.warnings,
  };
}
