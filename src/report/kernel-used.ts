import fs from 'node:fs';
import path from 'node:path';
import { listCheckpoints } from '../io/checkpoint/checkpoint.js';
import { recordedWorkerThreads } from '../step/kernel-choice.js';

/** The step formulation and worker count a run was using, as its newest checkpoint recorded them. */
export interface KernelUsed {
  /** Step of the checkpoint. */
  step: number;
  current: 'dense' | 'sparse';
  /** Worker threads (0: none, the main thread alone); null: not recorded. */
  workers: number | null;
  lastL0: number | null;
}

/**
 * Read the kernel choice from the newest checkpoint's state.json (a few KB; the weights beside it
 * are not touched). Null when there is no checkpoint or it predates the record: the page then
 * shows the configured values only. Never throws: this is a detail of the page.
 */
export function readKernelUsed(runDir: string): KernelUsed | null {
  try {
    const newest = listCheckpoints(runDir).at(-1);
    if (!newest) return null;
    const state = JSON.parse(fs.readFileSync(path.join(newest.dir, 'state.json'), 'utf8')) as {
      components?: { kernel?: { current?: unknown; workerThreads?: unknown; workers?: unknown; lastL0?: unknown } };
    };
    const k = state.components?.kernel;
    if (!k || (k.current !== 'dense' && k.current !== 'sparse')) return null;
    return {
      step: newest.step,
      current: k.current,
      workers: recordedWorkerThreads(k) ?? null,
      lastL0: typeof k.lastL0 === 'number' ? k.lastL0 : null,
    };
  } catch {
    return null;
  }
}
