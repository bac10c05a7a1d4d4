import * as tf from '../../src/backend/tfjs.js';
import { describe, expect, it } from 'vitest';
import { decoderTokenEffects } from '../../src/report/token-effects.js';

describe('decoderTokenEffects', () => {
  it('is (W_dec[i] * outputNorm) @ wOut, top promoted and most suppressed per feature, in chunks, leaking no tensor', () => {
    // W_dec [2, 2], the final norm's gain [2], unembedding [2, vocab 3].
    const W_dec = Float32Array.from([1, 0, 0, 2]);
    const norm = tf.tensor1d([2, 0.5]);
    const wOut = tf.tensor2d([1, -1, 0, 0, 1, 3], [2, 3]);
    const before = tf.memory().numTensors;
    // feature 0: [2, 0] @ wOut = [2, -2, 0]; feature 1: [0, 1] @ wOut = [0, 1, 3]
    for (const chunk of [1, 512]) {
      const effects = decoderTokenEffects(W_dec, 2, 2, norm, wOut, 2, chunk);
      expect(effects).toEqual([
        { promoted: [{ id: 0, logit: 2 }, { id: 2, logit: 0 }], suppressed: [{ id: 1, logit: -2 }, { id: 2, logit: 0 }] },
        { promoted: [{ id: 2, logit: 3 }, { id: 1, logit: 1 }], suppressed: [{ id: 0, logit: 0 }, { id: 1, logit: 1 }] },
      ]);
    }
    expect(tf.memory().numTensors).toBe(before);
    // More tokens asked for than the vocabulary has: every token, once per list.
    expect(decoderTokenEffects(W_dec, 2, 2, norm, wOut, 10)[1]!.promoted.map((e) => e.id)).toEqual([2, 1, 0]);
    tf.dispose([norm, wOut]);
  });
});
