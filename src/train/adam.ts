import * as tf from '@tensorflow/tfjs';
import { PARAM_NAMES, paramShape, type ParamName } from '../sae/params.js';

/** Adam hyper-parameters (Kingma & Ba 2015). */
export interface AdamHyper {
  beta1: number;
  beta2: number;
  eps: number;
}

/** Host copy of the Adam state, for checkpoints. */
export interface AdamSnapshot {
  t: number;
  m: Record<ParamName, Float32Array>;
  v: Record<ParamName, Float32Array>;
}

/**
 * Adam moments for the four SAE parameters, as variables of the parameters' shapes.
 * `t` counts updates taken (bias correction uses it). Resampling zeroes moment entries in place.
 */
export class AdamState {
  t = 0;
  readonly m: Record<ParamName, tf.Variable>;
  readonly v: Record<ParamName, tf.Variable>;

  constructor(d: number, mWidth: number) {
    const mk = (n: ParamName) => {
      const z = tf.zeros(paramShape(n, d, mWidth));
      const v = tf.variable(z, false);
      z.dispose();
      return v;
    };
    this.m = Object.fromEntries(PARAM_NAMES.map((n) => [n, mk(n)])) as Record<ParamName, tf.Variable>;
    this.v = Object.fromEntries(PARAM_NAMES.map((n) => [n, mk(n)])) as Record<ParamName, tf.Variable>;
  }

  /**
   * One Adam update of `param` with gradient `grad` at learning rate lr, using the current
   * `t` (call `tick()` once per step before the updates). Fused into one tidy.
   */
  update(name: ParamName, param: tf.Variable, grad: tf.Tensor, lr: number, h: AdamHyper): void {
    const m = this.m[name];
    const v = this.v[name];
    const t = this.t;
    tf.tidy(() => {
      const mNew = tf.add(tf.mul(m, h.beta1), tf.mul(grad, 1 - h.beta1));
      const vNew = tf.add(tf.mul(v, h.beta2), tf.mul(tf.square(grad), 1 - h.beta2));
      const bc1 = 1 - Math.pow(h.beta1, t);
      const bc2 = 1 - Math.pow(h.beta2, t);
      // param -= lr * m_hat / (sqrt(v_hat) + eps), as PyTorch's Adam.
      const stepSize = lr / bc1;
      const denom = tf.add(tf.div(tf.sqrt(vNew), Math.sqrt(bc2)), h.eps);
      param.assign(tf.sub(param, tf.mul(tf.div(mNew, denom), stepSize)));
      m.assign(mNew);
      v.assign(vNew);
    });
  }

  tick(): void {
    this.t += 1;
  }

  async snapshot(): Promise<AdamSnapshot> {
    const rd = async (r: Record<ParamName, tf.Variable>) =>
      Object.fromEntries(
        await Promise.all(PARAM_NAMES.map(async (n) => [n, (await r[n].data()) as Float32Array] as const)),
      ) as Record<ParamName, Float32Array>;
    return { t: this.t, m: await rd(this.m), v: await rd(this.v) };
  }

  restore(s: AdamSnapshot): void {
    this.t = s.t;
    for (const n of PARAM_NAMES) {
      for (const [dst, src] of [
        [this.m[n], s.m[n]],
        [this.v[n], s.v[n]],
      ] as const) {
        const t = tf.tensor(src, dst.shape, 'float32');
        dst.assign(t);
        t.dispose();
      }
    }
  }

  dispose(): void {
    for (const n of PARAM_NAMES) {
      this.m[n].dispose();
      this.v[n].dispose();
    }
  }
}
