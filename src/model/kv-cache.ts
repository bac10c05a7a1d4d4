import * as tf from '../backend/tfjs.js';

/**
 * Keys and values of the positions already processed, per block, [batch, kvHeads, past, headDim]
 * (keys after rotation), so generation processes one new token per step. Owned by its creator.
 */
export class KvCache {
  readonly keys: (tf.Tensor4D | null)[];
  readonly values: (tf.Tensor4D | null)[];
  /** Positions held. */
  length = 0;

  constructor(nLayers: number) {
    this.keys = new Array<tf.Tensor4D | null>(nLayers).fill(null);
    this.values = new Array<tf.Tensor4D | null>(nLayers).fill(null);
  }

  /** Append this step's keys/values for `layer`; returns the full keys/values to attend over. */
  extend(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): { k: tf.Tensor4D; v: tf.Tensor4D } {
    const oldK = this.keys[layer];
    const oldV = this.values[layer];
    const fullK = oldK ? tf.concat([oldK, k], 2) : k;
    const fullV = oldV ? tf.concat([oldV, v], 2) : v;
    this.keys[layer] = tf.keep(fullK.clone());
    this.values[layer] = tf.keep(fullV.clone());
    if (oldK) oldK.dispose();
    if (oldV) oldV.dispose();
    return { k: fullK, v: fullV };
  }

  dispose(): void {
    tf.dispose([...this.keys, ...this.values].filter((t): t is tf.Tensor4D => t !== null));
    this.keys.fill(null);
    this.values.fill(null);
    this.length = 0;
  }
}
