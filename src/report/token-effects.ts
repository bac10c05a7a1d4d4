import * as tf from '../backend/tfjs.js';
import { ModelError } from '../errors.js';
import type { LlamaModel } from '../model/llama.js';
import type { SaeWeights } from '../sae/params.js';

/** Tokens per list (promoted, suppressed) a feature card shows by default, as SAE dashboards do. */
export const DEFAULT_TOKEN_EFFECTS = 10;

/** One token's direct logit effect. */
export interface TokenEffect {
  id: number;
  logit: number;
}

/** The tokens a decoder direction promotes most (largest first) and suppresses most (most negative first). */
export interface FeatureTokenEffects {
  promoted: TokenEffect[];
  suppressed: TokenEffect[];
}

/**
 * Direct logit effect of each decoder direction, as SAE dashboards (sae-vis, Neuronpedia) show it:
 * (W_dec[i] * outputNorm) @ wOut -> [vocab]. Only the final RMSNorm's gain is applied; its scale
 * (1 / rms of the residual) depends on the whole residual stream and is ignored, as in dashboards,
 * so the logits are comparable within a feature, not across models.
 * W_dec [m, d] (row-major), outputNorm [d], wOut [d, vocab]. One batched matMul per chunk of features.
 */
export function decoderTokenEffects(
  W_dec: Float32Array,
  m: number,
  d: number,
  outputNorm: tf.Tensor1D,
  wOut: tf.Tensor2D,
  top = DEFAULT_TOKEN_EFFECTS,
  chunk = 512,
): FeatureTokenEffects[] {
  const k = Math.min(top, wOut.shape[1]);
  const out: FeatureTokenEffects[] = [];
  for (let start = 0; start < m; start += chunk) {
    const n = Math.min(chunk, m - start);
    const parts = tf.tidy(() => {
      const dirs = tf.tensor2d(W_dec.subarray(start * d, (start + n) * d), [n, d]);
      const logits = tf.matMul(tf.mul(dirs, outputNorm), wOut);
      const up = tf.topk(logits, k);
      const down = tf.topk(tf.neg(logits), k);
      return [up.indices, up.values, down.indices, tf.neg(down.values)];
    });
    const [upIds, upValues, downIds, downValues] = parts.map((t) => t.dataSync());
    tf.dispose(parts);
    for (let r = 0; r < n; r++) {
      const list = (ids: ArrayLike<number>, values: ArrayLike<number>): TokenEffect[] =>
        Array.from({ length: k }, (_, j) => ({ id: ids[r * k + j]!, logit: values[r * k + j]! }));
      out.push({ promoted: list(upIds!, upValues!), suppressed: list(downIds!, downValues!) });
    }
  }
  return out;
}

/** A dictionary's token effects through a model, with each token as the text a person reads. */
export interface DictionaryTokenEffects {
  /** The model file. */
  model: string;
  top: number;
  features: { promoted: { token: string; logit: number }[]; suppressed: { token: string; logit: number }[] }[];
}

/** decoderTokenEffects of a dictionary through a loaded model; the widths must agree. */
export function dictionaryTokenEffects(w: SaeWeights, model: LlamaModel, top = DEFAULT_TOKEN_EFFECTS): DictionaryTokenEffects {
  if (w.d !== model.config.dModel) {
    throw new ModelError(
      `${model.file}: the model's width (d_model) is ${model.config.dModel}, but the dictionary has width ${w.d}.`,
      'Pass the model whose activations the run was trained on (`sae report <run> --model <its gguf>`).',
    );
  }
  const effects = decoderTokenEffects(w.W_dec, w.m, w.d, model.weights.outputNorm, model.weights.wOut, top);
  const named = (list: TokenEffect[]) => list.map((e) => ({ token: model.tokenizer.piece(e.id), logit: e.logit }));
  return { model: model.file, top, features: effects.map((f) => ({ promoted: named(f.promoted), suppressed: named(f.suppressed) })) };
}
