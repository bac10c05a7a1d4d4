import * as tf from '../backend/tfjs.js';

/**
 * Rotary embedding tables in llama.cpp's layout for GGUF `llama` models (rope type "normal"):
 * adjacent pairs (x[2i], x[2i+1]) of each head rotate by the angle pos * base^(-2i / headDim).
 * (The GGUF converter permutes Hugging Face's Q/K rows so this pairing is the right one.)
 * cos[p, j] and sin[p, j] repeat the pair's value over both of its columns and over every head, so
 * rope(q) = q * cos + (q R) * sin with R the pair swap folded into the weights (see weights.ts).
 */
export interface RopeTables {
  /** [positions, width] */
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;
  positions: number;
}

/** Tables for `positions` positions over `width` columns (a multiple of headDim). */
export function ropeTables(positions: number, width: number, headDim: number, base: number): RopeTables {
  const cos = new Float32Array(positions * width);
  const sin = new Float32Array(positions * width);
  for (let p = 0; p < positions; p++) {
    for (let j = 0; j < width; j++) {
      const i = Math.floor((j % headDim) / 2);
      const angle = p * Math.pow(base, (-2 * i) / headDim);
      cos[p * width + j] = Math.cos(angle);
      sin[p * width + j] = Math.sin(angle);
    }
  }
  return { cos: tf.tensor2d(cos, [positions, width]), sin: tf.tensor2d(sin, [positions, width]), positions };
}

/** Additive causal mask [seq, past + seq]: query i sees keys 0 .. past + i. */
export function causalMask(seq: number, past: number): tf.Tensor2D {
  const width = past + seq;
  const m = new Float32Array(seq * width);
  for (let i = 0; i < seq; i++) for (let j = past + i + 1; j < width; j++) m[i * width + j] = -1e9;
  return tf.tensor2d(m, [seq, width]);
}
