import fs from 'node:fs';
import type { SaeWeights } from '../sae/params.js';
import { appendJsonLine, readJsonLines, rewriteJsonLines, writeJsonAtomic } from './atomic.js';
import { writeCheckpoint, type CheckpointState } from './checkpoint/checkpoint.js';
import { writeFinalDictionary, writeRunConfig, writeRunInfo } from './run-dir.js';
import type { DictionaryMeta } from './saelens.js';
import { runFile, type MetricsRecord, type RunInfo } from './run-layout.js';

/**
 * Every write the trainer makes into its run directory goes through here (the layout is in
 * run-layout.ts), so the trainer sees records, never files. The per-feature table
 * (features.arrow / features.json) is written by its own format module, features/table.ts.
 */
export class RunWriter {
  constructor(readonly dir: string) {}

  /** config.json: the validated config plus the run format version. */
  config(config: object): void {
    writeRunConfig(this.dir, config);
  }

  /** run.json, replaced atomically. */
  info(info: RunInfo): void {
    writeRunInfo(this.dir, info);
  }

  /** One line of metrics.jsonl. */
  metrics(record: MetricsRecord): void {
    appendJsonLine(runFile(this.dir, 'metrics'), record);
  }

  /** One line of resample.jsonl (an event or a follow-up record). */
  resample(record: unknown): void {
    appendJsonLine(runFile(this.dir, 'resample'), record);
  }

  /** A checkpoint, keeping the newest `keep`. */
  checkpoint(state: CheckpointState, keep: number): void {
    writeCheckpoint(this.dir, state, { keep });
  }

  /** The final dictionary in SAELens' layout (weights in raw-activation units). */
  dictionary(weights: SaeWeights, meta: DictionaryMeta): void {
    writeFinalDictionary(this.dir, weights, meta);
  }

  /** eval.json: the held-out evaluation. */
  evaluation(metrics: object): void {
    writeJsonAtomic(runFile(this.dir, 'eval'), metrics);
  }

  /** Drop log lines written after `step`, the checkpoint a resumed run continues from (they will be written again). */
  truncateLogs(step: number): void {
    for (const key of ['metrics', 'resample'] as const) {
      const file = runFile(this.dir, key);
      if (!fs.existsSync(file)) continue;
      const { records } = readJsonLines<{ step?: number }>(file);
      rewriteJsonLines(
        file,
        records.filter((r) => typeof r.step !== 'number' || r.step <= step),
      );
    }
  }
}
