import { CheckpointError } from '../errors.js';
import type { CheckpointState } from '../io/checkpoint/checkpoint.js';
import type { MetricsRecord } from '../io/run-layout.js';
import type { SaeParams } from '../sae/params.js';
import { Rng } from '../util/rng.js';
import type { AdamState } from '../step/adam.js';
import { FiringTracker, type FiringSnapshot } from './firing.js';
import type { IntervalSums } from './interval.js';
import type { KernelChoice } from '../step/engine.js';
import type { LoopState } from './loop.js';
import { ResampleMonitor } from '../resample/monitor.js';

/** Checkpoint <-> loop state: everything a resumed run needs to continue exactly. */
export async function captureState(
  s: LoopState,
  params: SaeParams,
  adam: AdamState,
  scale: number,
  digest: string,
  elapsedSeconds: number,
): Promise<CheckpointState> {
  return {
    step: s.step,
    tokens: s.tokens,
    elapsedSeconds,
    weights: await params.read(),
    adam: await adam.snapshot(),
    inputScale: scale,
    rng: { resample: s.resampleRng.state() },
    components: {
      tracker: s.tracker.snapshot(),
      monitor: s.monitor.snapshot(),
      interval: s.interval,
      last: s.last,
      // The data stream is a pure function of (dataset, seed, batch index): one batch per step.
      dataPosition: { batch: s.step },
      kernel: s.kernel,
      ...(s.threshold !== null ? { threshold: s.threshold } : {}),
    },
    configDigest: digest,
  };
}

export function restoreLoopState(c: CheckpointState, m: number, deadWindow: number): LoopState {
  const comp = c.components as {
    tracker: FiringSnapshot;
    monitor: unknown;
    interval: IntervalSums;
    last: MetricsRecord | null;
    kernel?: KernelChoice;
    threshold?: number;
  };
  const tracker = FiringTracker.restore(comp.tracker);
  if (tracker.m !== m) throw new CheckpointError(`checkpoint at step ${c.step} tracks ${tracker.m} features, the run has ${m}`);
  return {
    step: c.step,
    tokens: c.tokens,
    elapsedBefore: c.elapsedSeconds,
    interval: comp.interval,
    last: comp.last,
    tracker,
    monitor: ResampleMonitor.restore(comp.monitor, m, deadWindow),
    resampleRng: Rng.fromState(c.rng['resample']!),
    // Checkpoints from before the kernel choice was recorded: 'auto' starts afresh.
    kernel: comp.kernel ?? { current: 'dense', lastL0: null },
    threshold: comp.threshold ?? null,
  };
}
