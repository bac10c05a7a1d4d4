import { readJsonLines } from '../io/atomic.js';
import { runFile } from '../io/run-layout.js';

/** How often a feature was resampled, and at which step last. */
export interface ResampleHistoryEntry {
  count: number;
  lastStep: number;
}

export type ResampleHistory = Map<number, ResampleHistoryEntry>;

function indexList(rec: Record<string, unknown>): number[] | null {
  const list = Array.isArray(rec.indices) ? rec.indices : Array.isArray(rec.resampled) ? rec.resampled : null;
  if (!list) return null;
  return list.filter((v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0);
}

/**
 * Per-feature resample history from the records of resample.jsonl. Tolerant by design: the log is
 * appended during training, so other record types (follow-ups) sit between events and a field may
 * be missing; anything that is not a readable event is skipped.
 * An event is `{type: 'event', step, indices | resampled: number[]}`.
 */
export function resampleHistoryFromRecords(records: readonly unknown[]): ResampleHistory {
  const history: ResampleHistory = new Map();
  for (const rec of records) {
    if (typeof rec !== 'object' || rec === null) continue;
    const r = rec as Record<string, unknown>;
    if (r.type !== 'event' || typeof r.step !== 'number') continue;
    const indices = indexList(r);
    if (!indices) continue;
    for (const i of new Set(indices)) {
      const h = history.get(i);
      if (h) {
        h.count++;
        h.lastStep = Math.max(h.lastStep, r.step);
      } else {
        history.set(i, { count: 1, lastStep: r.step });
      }
    }
  }
  return history;
}

/**
 * The run's resample history; empty when the run never resampled (no resample.jsonl). A truncated
 * or garbled line (interrupted run) is skipped.
 */
export function readResampleHistory(runDir: string): ResampleHistory {
  return resampleHistoryFromRecords(readJsonLines<unknown>(runFile(runDir, 'resample')).records);
}
