import * as tf from '../backend/tfjs.js';
import { activate, RELU, thresholdOf, type Activation } from './activation.js';

/** Tensors of an SAE (variables or plain tensors) in the canonical layout. */
export interface SaeTensors {
  /** W_enc [d, m] */
  W_enc: tf.Tensor2D;
  /** b_enc [m] */
  b_enc: tf.Tensor1D;
  /** W_dec [m, d] */
  W_dec: tf.Tensor2D;
  /** b_dec [d] */
  b_dec: tf.Tensor1D;
  /** The encoder's nonlinearity (absent: ReLU). */
  activation?: Activation;
  /** log_threshold [m]: jumprelu's trained thresholds (training only; encode() uses `activation`). */
  log_threshold?: tf.Tensor1D | undefined;
}

/** Pre-activations: (x - b_dec) W_enc + b_enc.  x [B, d] -> [B, m] */
export function preActivations(sae: SaeTensors, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.add(tf.matMul(tf.sub(x, sae.b_dec), sae.W_enc), sae.b_enc));
}

/** f = act((x - b_dec) W_enc + b_enc), act the dictionary's activation (ReLU by default).  x [B, d] -> f [B, m] */
export function encode(sae: SaeTensors, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => activate(preActivations(sae, x), sae.activation ?? RELU));
}

/**
 * The activations of the features `idx` only, as encode() gives them: ReLU and JumpReLU need just
 * those columns; TopK needs each row's threshold over every feature.  x [B, d] -> [B, idx.length]
 */
export function encodeFeatures(sae: SaeTensors, x: tf.Tensor2D, idx: readonly number[]): tf.Tensor2D {
  return tf.tidy(() => {
    const a = sae.activation ?? RELU;
    const cols = tf.tensor1d(Array.from(idx), 'int32');
    if (a.kind === 'topk') {
      const pre = preActivations(sae, x);
      const picked = tf.gather(pre, cols, 1);
      return tf.where(tf.greater(picked, thresholdOf(pre, a)), picked, tf.zerosLike(picked)) as tf.Tensor2D;
    }
    const pre = tf.add(tf.matMul(tf.sub(x, sae.b_dec), tf.gather(sae.W_enc, cols, 1)), tf.gather(sae.b_enc, cols)) as tf.Tensor2D;
    if (a.kind === 'relu') return tf.relu(pre);
    const t = tf.relu(tf.gather(tf.tensor1d(a.threshold), cols));
    return tf.where(tf.greater(pre, t), pre, tf.zerosLike(pre)) as tf.Tensor2D;
  });
}

/** x_hat = f W_dec + b_dec.  f [B, m] -> [B, d] */
export function decode(sae: SaeTensors, f: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.add(tf.matMul(f, sae.W_dec), sae.b_dec));
}

/** Forward pass: f [B, m] and x_hat [B, d]. Caller disposes both. */
export function forward(sae: SaeTensors, x: tf.Tensor2D): { f: tf.Tensor2D; xHat: tf.Tensor2D } {
  const f = encode(sae, x);
  const xHat = decode(sae, f);
  return { f, xHat };
}

/** Per-row squared reconstruction error ||x - x_hat||^2.  x [B, d] -> [B] */
export function rowSquaredError(sae: SaeTensors, x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const { xHat } = forward(sae, x);
    return tf.sum(tf.square(tf.sub(x, xHat)), 1) as tf.Tensor1D;
  });
}
