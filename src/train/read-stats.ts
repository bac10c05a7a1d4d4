import * as tf from '../backend/tfjs.js';
import { checkBackendErrors } from '../backend/select.js';
import type { StepStats } from '../sae/gradients.js';
import type { StepValues } from './interval.js';

/**
 * A step's statistics on the host, in one asynchronous read: on a GPU every read waits for the
 * queue to drain, so the seven scalars and the firing counts travel together (and dataSync() does
 * not exist on WebGPU in Node). Does not dispose `stats`.
 */
export async function readStepStats(stats: StepStats): Promise<{ values: StepValues; fired: Float32Array; threshold: number }> {
  const packed = tf.tidy(() =>
    tf.concat([tf.stack([stats.loss, stats.mse, stats.l1, stats.l0, stats.sse, stats.totalVariance, stats.threshold ?? tf.scalar(NaN)]), stats.firedCounts]),
  );
  let v: Float32Array;
  try {
    v = (await packed.data()) as Float32Array;
  } finally {
    packed.dispose();
  }
  checkBackendErrors('a training step');
  return {
    values: { loss: v[0]!, mse: v[1]!, l1: v[2]!, l0: v[3]!, sse: v[4]!, tv: v[5]! },
    fired: v.subarray(7),
    /** batchtopk: the step's selection threshold; NaN otherwise. */
    threshold: v[6]!,
  };
}
