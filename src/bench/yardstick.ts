import * as tf from '../backend/tfjs.js';

/**
 * The backend's plain dense product a [rows, k] x b [k, n] in GFLOP/s (2 rows k n flops), the
 * best of `repeats` after one warm-up: the yardstick the step's products are measured against.
 */
export function matMulGflops(rows: number, k: number, n: number, repeats = 3): number {
  const a = tf.randomNormal([rows, k], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal([k, n], 0, 1, 'float32', 2) as tf.Tensor2D;
  try {
    let best = Infinity;
    for (let r = 0; r <= repeats; r++) {
      const t0 = performance.now();
      // wasm, cpu and tfjs-node run ops synchronously: the product is done when matMul returns.
      const c = tf.matMul(a, b);
      const ms = performance.now() - t0;
      c.dispose();
      if (r > 0) best = Math.min(best, ms);
    }
    return (2 * rows * k * n) / (best * 1e6);
  } finally {
    a.dispose();
    b.dispose();
  }
}
