import * as tf from '../backend/tfjs.js';
import type { Hooks } from '../model/hooks.js';
import type { SaeTensors } from '../sae/forward.js';
import { editActivation, type FeatureEdit } from './edits.js';
import type { EditPositions } from './edit-positions.js';

export { EDIT_POSITIONS, type EditPositions } from './edit-positions.js';

/**
 * 1 where an edit applies, for the positions `start..start + ids.length - 1` holding `ids`.
 * Position p is part of the prompt when p < promptLength. BOS positions stay clean unless
 * `includeBos` (their activations are outliers the SAE was not trained on).
 */
export function editMask(ids: readonly number[], start: number, promptLength: number, where: EditPositions, bos: number, includeBos: boolean): Float32Array {
  return Float32Array.from(ids, (id, i) => {
    const p = start + i;
    if (id === bos && !includeBos) return 0;
    if (where === 'prompt') return p < promptLength ? 1 : 0;
    if (where === 'generated') return p >= promptLength ? 1 : 0;
    return 1;
  });
}

/**
 * A hook that applies `edits` at `hook` where `mask [batch * seq]` is 1 (see editActivation).
 * No edit gives no hook at all, so the forward pass is the plain model's.
 */
export function editHooks(sae: SaeTensors, hook: string, edits: readonly FeatureEdit[], mask: Float32Array): Hooks {
  if (edits.length === 0) return {};
  return {
    [hook]: (x: tf.Tensor3D): tf.Tensor3D => {
      const [b, s, d] = x.shape;
      const m = tf.tensor2d(mask, [b * s, 1]);
      return tf.reshape(editActivation(sae, tf.reshape(x, [b * s, d]), edits, m), [b, s, d]);
    },
  };
}
