import { ConfigError } from '../errors.js';
import type { SaeWeights } from '../sae/params.js';

/**
 * Parse a feature selection like "0-99,200,300-310" against a dictionary of m features.
 * Returns the sorted, de-duplicated feature indices.
 */
export function parseFeatureSelection(spec: string, m: number): Int32Array {
  const picked = new Set<number>();
  const parts = spec.split(',').map((p) => p.trim());
  for (const part of parts) {
    const match = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!match) {
      throw new ConfigError(
        `--features: '${part}' is not an index or a range (in '${spec}').`,
        'Use indices and inclusive ranges separated by commas, e.g. --features 0-99,200,300-310.',
      );
    }
    const lo = Number(match[1]);
    const hi = match[2] === undefined ? lo : Number(match[2]);
    if (hi < lo) throw new ConfigError(`--features: range '${part}' ends before it starts.`, `Write it as ${hi}-${lo}.`);
    if (hi >= m) {
      throw new ConfigError(
        `--features: '${part}' is outside 0-${m - 1} (the dictionary has ${m} features).`,
        `Choose indices below ${m}.`,
      );
    }
    for (let i = lo; i <= hi; i++) picked.add(i);
  }
  return Int32Array.from([...picked].sort((a, b) => a - b));
}

/**
 * The dictionary restricted to features `idx`, in that order:
 * W_enc [d, k] = W_enc[:, idx], b_enc [k], W_dec [k, d] = W_dec[idx, :], b_dec unchanged.
 */
export function selectFeatures(w: SaeWeights, idx: Int32Array): SaeWeights {
  const { d, m } = w;
  const k = idx.length;
  const W_enc = new Float32Array(d * k);
  const W_dec = new Float32Array(k * d);
  const b_enc = new Float32Array(k);
  for (let j = 0; j < k; j++) {
    const i = idx[j]!;
    b_enc[j] = w.b_enc[i]!;
    W_dec.set(w.W_dec.subarray(i * d, (i + 1) * d), j * d);
  }
  for (let r = 0; r < d; r++) {
    for (let j = 0; j < k; j++) W_enc[r * k + j] = w.W_enc[r * m + idx[j]!]!;
  }
  const a = w.activation;
  const activation = a?.kind === 'jumprelu' ? { activation: { kind: 'jumprelu' as const, threshold: pickValues(a.threshold, idx) } } : a ? { activation: a } : {};
  return { d, m: k, W_enc, b_enc, W_dec, b_dec: Float32Array.from(w.b_dec), ...activation };
}

/** Values of `v` at `idx`. */
export function pickValues(v: Float32Array, idx: Int32Array): Float32Array {
  return Float32Array.from(idx, (i) => v[i]!);
}

/**
 * Rescale so every decoder row has unit norm while x_hat is unchanged: with n_i = ||W_dec[i]||,
 * W_enc[:, i] *= n_i, b_enc[i] *= n_i, W_dec[i] /= n_i. ReLU is positively homogeneous, so f_i
 * scales by n_i and f_i W_dec[i] stays the same. Rows of norm 0 are left as they are.
 * Returns new arrays; the input is not modified.
 */
export function unitNormDecoder(w: SaeWeights): SaeWeights {
  const { d, m } = w;
  if (w.activation?.kind === 'topk') {
    let worst = 0;
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += w.W_dec[i * d + j]! ** 2;
      worst = Math.max(worst, Math.abs(Math.sqrt(s) - 1));
    }
    if (worst > 1e-3) {
      throw new ConfigError(
        `--unit-decoder: this TopK dictionary's decoder rows are not unit norm (off by up to ${worst.toPrecision(3)}), and rescaling them would change which k features each row keeps.`,
        'Export without --unit-decoder.',
      );
    }
  }
  const W_enc = Float32Array.from(w.W_enc);
  const W_dec = Float32Array.from(w.W_dec);
  const b_enc = Float32Array.from(w.b_enc);
  const norms = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += W_dec[i * d + j]! ** 2;
    norms[i] = Math.sqrt(s);
  }
  for (let i = 0; i < m; i++) {
    const n = norms[i]!;
    if (n === 0) continue;
    for (let j = 0; j < d; j++) W_dec[i * d + j] = W_dec[i * d + j]! / n;
    b_enc[i] = b_enc[i]! * n;
  }
  for (let r = 0; r < d; r++) {
    for (let i = 0; i < m; i++) {
      const n = norms[i]!;
      if (n !== 0) W_enc[r * m + i] = W_enc[r * m + i]! * n;
    }
  }
  // JumpReLU: pre_i scales by n_i, so its threshold does too.
  const a = w.activation;
  const activation =
    a?.kind === 'jumprelu'
      ? { activation: { kind: 'jumprelu' as const, threshold: Float32Array.from(a.threshold, (t, i) => (norms[i]! === 0 ? t : t * norms[i]!)) } }
      : a
        ? { activation: a }
        : {};
  return { d, m, W_enc, b_enc, W_dec, b_dec: Float32Array.from(w.b_dec), ...activation };
}
