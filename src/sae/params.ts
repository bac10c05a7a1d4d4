import * as tf from '../backend/tfjs.js';
import { RELU, type Activation } from './activation.js';

/** Names of the SAE's parameters, in SAELens' spelling. */
export const PARAM_NAMES = ['W_enc', 'b_enc', 'W_dec', 'b_dec'] as const;
export type ParamName = (typeof PARAM_NAMES)[number];

/** Plain host copies of the SAE parameters (row-major Float32Arrays). */
export interface SaeWeights {
  d: number;
  m: number;
  /** W_enc [d, m] */
  W_enc: Float32Array;
  /** b_enc [m] */
  b_enc: Float32Array;
  /** W_dec [m, d] */
  W_dec: Float32Array;
  /** b_dec [d] */
  b_dec: Float32Array;
  /** The encoder's nonlinearity (absent: ReLU); architecture.ts says which one a run trains. */
  activation?: Activation;
  /**
   * log_threshold [m]: jumprelu's trained parameter (checkpoints only; a finished dictionary
   * carries exp of it as its activation's threshold).
   */
  log_threshold?: Float32Array;
}

export function paramShape(name: ParamName, d: number, m: number): [number] | [number, number] {
  switch (name) {
    case 'W_enc':
      return [d, m];
    case 'b_enc':
      return [m];
    case 'W_dec':
      return [m, d];
    case 'b_dec':
      return [d];
  }
}

/**
 * The SAE's trainable state: tfjs variables in the canonical layout
 * W_enc [d, m], b_enc [m], W_dec [m, d], b_dec [d]. Owns its variables; call dispose().
 */
export class SaeParams {
  readonly d: number;
  readonly m: number;
  readonly W_enc: tf.Variable<tf.Rank.R2>;
  readonly b_enc: tf.Variable<tf.Rank.R1>;
  readonly W_dec: tf.Variable<tf.Rank.R2>;
  readonly b_dec: tf.Variable<tf.Rank.R1>;
  /** jumprelu's log_threshold [m], trained beside the four (absent for every other architecture). */
  readonly log_threshold: tf.Variable<tf.Rank.R1> | undefined;
  /** The nonlinearity encode() applies (not trained by the optimizer; the loop sets it). */
  activation: Activation;

  constructor(w: SaeWeights) {
    this.activation = w.activation ?? RELU;
    this.d = w.d;
    this.m = w.m;
    this.W_enc = variableFrom(w.W_enc, [w.d, w.m]) as tf.Variable<tf.Rank.R2>;
    this.b_enc = variableFrom(w.b_enc, [w.m]) as tf.Variable<tf.Rank.R1>;
    this.W_dec = variableFrom(w.W_dec, [w.m, w.d]) as tf.Variable<tf.Rank.R2>;
    this.b_dec = variableFrom(w.b_dec, [w.d]) as tf.Variable<tf.Rank.R1>;
    this.log_threshold = w.log_threshold ? (variableFrom(w.log_threshold, [w.m]) as tf.Variable<tf.Rank.R1>) : undefined;
  }

  get(name: ParamName): tf.Variable {
    return this[name];
  }

  /** Read all parameters back to host memory. */
  async read(): Promise<SaeWeights> {
    const [W_enc, b_enc, W_dec, b_dec] = await Promise.all(
      PARAM_NAMES.map((n) => this.get(n).data() as Promise<Float32Array>),
    );
    const log_threshold = this.log_threshold ? { log_threshold: (await this.log_threshold.data()) as Float32Array } : {};
    return { d: this.d, m: this.m, W_enc: W_enc!, b_enc: b_enc!, W_dec: W_dec!, b_dec: b_dec!, ...this.activationField(), ...log_threshold };
  }

  /** { activation } unless ReLU (the records of ReLU dictionaries stay as they were). */
  private activationField(): { activation?: Activation } {
    return this.activation.kind === 'relu' ? {} : { activation: this.activation };
  }

  readSync(): SaeWeights {
    const [W_enc, b_enc, W_dec, b_dec] = PARAM_NAMES.map((n) => this.get(n).dataSync() as Float32Array);
    const log_threshold = this.log_threshold ? { log_threshold: this.log_threshold.dataSync() as Float32Array } : {};
    return { d: this.d, m: this.m, W_enc: W_enc!, b_enc: b_enc!, W_dec: W_dec!, b_dec: b_dec!, ...this.activationField(), ...log_threshold };
  }

  /** Overwrite all parameters from host arrays of the same shapes. */
  write(w: SaeWeights): void {
    for (const n of PARAM_NAMES) {
      const v = this.get(n);
      const t = tf.tensor(w[n], v.shape, 'float32');
      v.assign(t);
      t.dispose();
    }
    if (w.activation) this.activation = w.activation;
    if (this.log_threshold && w.log_threshold) {
      const t = tf.tensor1d(w.log_threshold, 'float32');
      this.log_threshold.assign(t);
      t.dispose();
    }
  }

  dispose(): void {
    for (const n of PARAM_NAMES) this.get(n).dispose();
    this.log_threshold?.dispose();
  }
}

/** A float32 variable holding a copy of `data`; the temporary tensor is released. */
export function variableFrom(data: Float32Array, shape: number[], trainable = true): tf.Variable {
  const t = tf.tensor(data, shape, 'float32');
  const v = tf.variable(t, trainable);
  t.dispose();
  return v;
}
