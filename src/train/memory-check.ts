import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { AvailableMemory } from '../util/available-memory.js';
import { defaultWorkers } from '../step/engine.js';
import { estimateRunMemory, formatBytes, WASM_HEAP_LIMIT, type MemoryEstimate } from './memory-estimate.js';
import type { RunPlan } from './plan.js';

/** The estimate for a planned run on `backend`. */
export function estimateForPlan(cfg: Config, plan: RunPlan, backend: string): MemoryEstimate {
  const workers = cfg.train.workers === 'auto' ? defaultWorkers(backend, plan.m) : cfg.train.workers;
  return estimateRunMemory({
    d: plan.d,
    m: plan.m,
    batchSize: cfg.train.batchSize,
    shuffleRows: Math.min(cfg.data.shuffleBuffer, Math.max(plan.trainRows, cfg.train.batchSize)),
    workers: Math.min(workers, plan.m),
  });
}

function parts(est: MemoryEstimate): string {
  return est.items
    .filter((i) => i.lower !== '')
    .sort((a, b) => b.bytes - a.bytes)
    .map((i) => `${i.what} ${formatBytes(i.bytes)}`)
    .join(', ');
}

/**
 * Refuse, before anything is allocated, a run that cannot fit: its estimate above the budget
 * (`maxMemory` when given, else what the machine has free), or its tensors above the wasm
 * backend's 4 GiB heap. The message gives the estimate by part; the hint, what to lower first.
 */
export function checkRunMemory(est: MemoryEstimate, o: { available: AvailableMemory; maxMemory?: number; backend: string }): void {
  const largest = [...est.items].filter((i) => i.lower !== '').sort((a, b) => b.bytes - a.bytes)[0]!;
  const hint = `The largest part is ${largest.what}: lower ${largest.lower}. --max-memory SIZE sets the budget yourself (e.g. --max-memory 8G).`;
  if (o.backend === 'wasm' && est.tensorBytes > WASM_HEAP_LIMIT) {
    throw new ConfigError(
      `this run's tensors need about ${formatBytes(est.tensorBytes)}, more than the wasm backend's ${formatBytes(WASM_HEAP_LIMIT)} heap (${parts(est)})`,
      hint,
    );
  }
  const budget = o.maxMemory !== undefined ? { bytes: o.maxMemory, source: '--max-memory' } : o.available;
  if (est.total > budget.bytes) {
    throw new ConfigError(
      `this run needs about ${formatBytes(est.total)} of memory (${parts(est)}, runtime ${formatBytes(est.items.at(-1)!.bytes)}), ` +
        `more than the ${formatBytes(budget.bytes)} available (${budget.source})`,
      hint,
    );
  }
}
