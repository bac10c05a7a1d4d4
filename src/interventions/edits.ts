import * as tf from '../backend/tfjs.js';
import { ConfigError } from '../errors.js';
import { encodeFeatures, type SaeTensors } from '../sae/forward.js';

/**
 * One edit of one feature at the SAE's hook:
 * - `set`: clamp its activation to `value`; `scale`: multiply it by `value`; `ablate`: set it to 0;
 * - `add`: add `value` times its decoder direction (activation-independent steering, as Neuronpedia's).
 */
export interface FeatureEdit {
  kind: 'set' | 'scale' | 'ablate' | 'add';
  feature: number;
  value: number;
}

/** The edit flags of `sae steer`, each a list of `I=V` (ablate: `I`). */
export interface EditFlags {
  set?: string[];
  scale?: string[];
  ablate?: string[];
  add?: string[];
}

function parseOne(kind: FeatureEdit['kind'], text: string): FeatureEdit {
  const example = kind === 'ablate' ? '392' : kind === 'scale' ? '17=2' : '17=4.0';
  const m = kind === 'ablate' ? /^\s*(\d+)\s*$/.exec(text) : /^\s*(\d+)\s*=\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$/.exec(text);
  if (!m) {
    const want = kind === 'ablate' ? 'a feature index' : 'FEATURE=VALUE with a feature index and a number';
    throw new ConfigError(`--${kind} '${text}': expected ${want} (e.g. --${kind} ${example}).`, `Give one edit per flag; repeat the flag for several features.`);
  }
  return { kind, feature: Number(m[1]), value: kind === 'ablate' ? 0 : Number(m[2]) };
}

/** Parse the edit flags in the order set, scale, ablate, add. ConfigError on a malformed one. */
export function parseEdits(flags: EditFlags): FeatureEdit[] {
  const kinds = ['set', 'scale', 'ablate', 'add'] as const;
  return kinds.flatMap((k) => (flags[k] ?? []).map((t) => parseOne(k, t)));
}

/**
 * Check edits against a dictionary of `m` features: indices in range, and at most one of
 * set/scale/ablate per feature (their order would matter). `add` combines with anything.
 */
export function checkEdits(edits: readonly FeatureEdit[], m: number, run: string): void {
  const clamped = new Map<number, FeatureEdit['kind']>();
  for (const e of edits) {
    if (e.feature >= m) {
      throw new ConfigError(`--${e.kind} ${e.feature}: feature ${e.feature} does not exist in ${run}: the dictionary has ${m} features (0-${m - 1}).`, `Give a feature index from 0 to ${m - 1}; \`sae features ${run}\` lists them.`);
    }
    if (e.kind === 'add') continue;
    const earlier = clamped.get(e.feature);
    if (earlier) {
      throw new ConfigError(`--${earlier} and --${e.kind} both edit feature ${e.feature}: the result would depend on their order.`, 'Give one of --set, --scale, --ablate per feature (--add combines with any).');
    }
    clamped.set(e.feature, e.kind);
  }
}

/** Edits as one line of text: `set 17=4, ablate 392`. */
export function describeEdits(edits: readonly FeatureEdit[]): string {
  if (edits.length === 0) return 'no edit';
  return edits.map((e) => (e.kind === 'ablate' ? `ablate ${e.feature}` : `${e.kind} ${e.feature}=${e.value}`)).join(', ');
}

/**
 * The edited activation at the hook, with the SAE's error term kept:
 *   x' = x + mask * ((f' - f) W_dec + sum_add C W_dec[i])
 * where f are the edited features' activations (only their columns are encoded) and f' their edited
 * values, so only the edited features change what the model sees. With `--scale I=1` or
 * `--set I=<its own value>`, f' - f is exactly 0 and x' equals x bit for bit.
 * x [n, d], mask [n, 1] (1 where the edit applies) -> [n, d]
 */
export function editActivation(sae: SaeTensors, x: tf.Tensor2D, edits: readonly FeatureEdit[], mask: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const clamps = edits.filter((e) => e.kind !== 'add');
    const adds = edits.filter((e) => e.kind === 'add');
    let delta: tf.Tensor | null = null;
    if (clamps.length > 0) {
      const idx = tf.tensor1d(clamps.map((e) => e.feature), 'int32');
      const f = encodeFeatures(sae, x, clamps.map((e) => e.feature));
      // f' - f = f * (keep - 1) + fixed: keep is K for scale, 0 for set/ablate; fixed is V for set.
      const keepMinusOne = tf.tensor1d(clamps.map((e) => (e.kind === 'scale' ? e.value - 1 : -1)));
      const fixed = tf.tensor1d(clamps.map((e) => (e.kind === 'set' ? e.value : 0)));
      delta = tf.matMul(tf.add(tf.mul(f, keepMinusOne), fixed), tf.gather(sae.W_dec, idx));
    }
    if (adds.length > 0) {
      const coef = tf.tensor2d(adds.map((e) => e.value), [1, adds.length]);
      const added = tf.matMul(coef, tf.gather(sae.W_dec, tf.tensor1d(adds.map((e) => e.feature), 'int32')));
      delta = delta ? tf.add(delta, added) : tf.add(tf.zerosLike(x), added);
    }
    if (!delta) return tf.clone(x);
    return tf.add(x, tf.mul(delta, mask)) as tf.Tensor2D;
  });
}
