/**
 * Adam (Kingma & Ba 2015, as PyTorch computes it), once: `AdamState.update` on tensors (the dense
 * reference and the one-thread sparse step) and `adamRun` on host arrays (the worker threads; the
 * SIMD loops in kernels/wasm/loops.ts are its vectorised form). test/step/adam.test.ts checks
 * the two against each other.
 */
import * as tf from '../backend/tfjs.js';
import { InternalError } from '../errors.js';
import { PARAM_NAMES, paramShape, type ParamName } from '../sae/params.js';

/** Adam hyper-parameters (Kingma & Ba 2015). */
export interface AdamHyper {
  beta1: number;
  beta2: number;
  eps: number;
}

/** A parameter Adam updates: the SAE's four, and jumprelu's log_threshold [m] where the run has it. */
export type TrainedName = ParamName | 'log_threshold';

/** Host copy of the Adam state, for checkpoints. */
export interface AdamSnapshot {
  t: number;
  m: Record<ParamName, Float32Array> & { log_threshold?: Float32Array };
  v: Record<ParamName, Float32Array> & { log_threshold?: Float32Array };
}

/** Adam's per-step constants (PyTorch's formulation, as AdamState.update). */
export interface AdamStepConsts {
  beta1: number;
  beta2: number;
  eps: number;
  /** lr / (1 - beta1^t) */
  stepSize: number;
  /** sqrt(1 - beta2^t) */
  sqrtBc2: number;
  /** Multiplies the gradient first (global-norm clipping; 1 otherwise). */
  gradScale: number;
}

/**
 * Adam on entries [start, start + len) of a parameter, in place:
 *   g = gradScale grad; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 *   p -= stepSize m / (sqrt(v) / sqrtBc2 + eps)
 */
export function adamRun(
  param: Float32Array,
  grad: Float32Array,
  mom: Float32Array,
  vel: Float32Array,
  start: number,
  len: number,
  c: AdamStepConsts,
): void {
  const { beta1, beta2, eps, stepSize, sqrtBc2, gradScale } = c;
  const a1 = 1 - beta1;
  const a2 = 1 - beta2;
  const end = start + len;
  for (let q = start; q < end; q++) {
    const g = grad[q]! * gradScale;
    const mq = beta1 * mom[q]! + a1 * g;
    const vq = beta2 * vel[q]! + a2 * g * g;
    mom[q] = mq;
    vel[q] = vq;
    param[q]! -= (stepSize * mq) / (Math.sqrt(vq) / sqrtBc2 + eps);
  }
}

/** The constants of update number t (1-based) at learning rate lr, gradients multiplied by gradScale. */
export function adamConsts(t: number, lr: number, h: AdamHyper, gradScale = 1): AdamStepConsts {
  return {
    beta1: h.beta1,
    beta2: h.beta2,
    eps: h.eps,
    stepSize: lr / (1 - Math.pow(h.beta1, t)),
    sqrtBc2: Math.sqrt(1 - Math.pow(h.beta2, t)),
    gradScale,
  };
}

type Moments = Record<ParamName, tf.Variable> & { log_threshold?: tf.Variable };

/**
 * Adam moments for the four SAE parameters (and jumprelu's log_threshold with `logThreshold`), as
 * variables of the parameters' shapes. `t` counts updates taken (bias correction uses it).
 * Resampling zeroes moment entries in place.
 */
export class AdamState {
  t = 0;
  readonly m: Moments;
  readonly v: Moments;

  constructor(d: number, mWidth: number, opts: { logThreshold?: boolean } = {}) {
    const mk = (shape: number[]) => {
      const z = tf.zeros(shape);
      const v = tf.variable(z, false);
      z.dispose();
      return v;
    };
    const moments = (): Moments => {
      const r = Object.fromEntries(PARAM_NAMES.map((n) => [n, mk(paramShape(n, d, mWidth))])) as Moments;
      if (opts.logThreshold) r.log_threshold = mk([mWidth]);
      return r;
    };
    this.m = moments();
    this.v = moments();
  }

  /** The parameters this state has moments for. */
  names(): TrainedName[] {
    return this.m.log_threshold ? [...PARAM_NAMES, 'log_threshold'] : [...PARAM_NAMES];
  }

  /**
   * One Adam update of `param` with gradient `grad` at learning rate lr, using the current
   * `t` (call `tick()` once per step before the updates). Fused into one tidy.
   */
  update(name: TrainedName, param: tf.Variable, grad: tf.Tensor, lr: number, h: AdamHyper): void {
    const m = this.m[name];
    const v = this.v[name];
    if (!m || !v) throw new InternalError(`Adam has no moments for ${name}`);
    const { stepSize, sqrtBc2 } = adamConsts(this.t, lr, h);
    tf.tidy(() => {
      const mNew = tf.add(tf.mul(m, h.beta1), tf.mul(grad, 1 - h.beta1));
      const vNew = tf.add(tf.mul(v, h.beta2), tf.mul(tf.square(grad), 1 - h.beta2));
      // param -= lr * m_hat / (sqrt(v_hat) + eps), as PyTorch's Adam.
      const denom = tf.add(tf.div(tf.sqrt(vNew), sqrtBc2), h.eps);
      param.assign(tf.sub(param, tf.mul(tf.div(mNew, denom), stepSize)));
      m.assign(mNew);
      v.assign(vNew);
    });
  }

  tick(): void {
    this.t += 1;
  }

  async snapshot(): Promise<AdamSnapshot> {
    const rd = async (r: Moments) =>
      Object.fromEntries(
        await Promise.all(this.names().map(async (n) => [n, (await r[n]!.data()) as Float32Array] as const)),
      ) as AdamSnapshot['m'];
    return { t: this.t, m: await rd(this.m), v: await rd(this.v) };
  }

  restore(s: AdamSnapshot): void {
    this.t = s.t;
    for (const n of this.names()) {
      for (const [dst, src] of [
        [this.m[n]!, s.m[n]],
        [this.v[n]!, s.v[n]],
      ] as const) {
        if (!src) throw new InternalError(`Adam snapshot has no moments for ${n}`);
        const t = tf.tensor(src, dst.shape, 'float32');
        dst.assign(t);
        t.dispose();
      }
    }
  }

  dispose(): void {
    for (const n of this.names()) {
      this.m[n]!.dispose();
      this.v[n]!.dispose();
    }
  }
}
