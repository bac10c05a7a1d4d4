/**
 * The SAE's encode and decode on this thread's CPU with the SIMD product (step/kernels: `gemm`),
 * for the passes over held-out rows after a run
 * (feature statistics, evaluation) on the wasm backend. Same bits as forward.ts' tfjs encode and
 * decode: x - b_dec, the product summed over k in order in float32 (tfjs' matMul order), + b_enc
 * as a separate float32 add, the activation's threshold test. A sparse f (at most 1/64 active) is
 * decoded by a plain loop over its non-zero entries in increasing feature order, each term rounded
 * as float32: the dense product's sum without its zero terms (loops' SIMD decodeActive adds terms
 * in pairs, which rounds differently).
 * It needs a host copy of both weight matrices, so it declines (null) above HOST_FORWARD_BYTES.
 */
import * as tf from '../backend/tfjs.js';
import { Arena } from '../step/kernels/arena.js';
import { productPackFloats, type LoopKernels } from '../step/kernels/loops.js';
import { loadSimdLoops } from '../step/kernels/simd-loops.js';
import { hostRowThresholds, type Activation } from '../sae/activation.js';
import type { SaeTensors } from '../sae/forward.js';

/** The most memory a HostForward may take (weights, one chunk of rows and its f). */
export const HOST_FORWARD_BYTES = 1 << 30;
/** The backend whose matMul these kernels reproduce to the bit, and outrun (tfjs' cpu backend rounds differently). */
const HOST_BACKENDS = new Set(['wasm']);

/** Whether the host's SIMD products stand in for tfjs' here (HostForward, features/nearest-host.ts). */
export function hostProductsApply(): boolean {
  return HOST_BACKENDS.has(tf.getBackend());
}

/** Above this share of active entries the decode is the dense product. */
const SPARSE_DECODE_UP_TO = 1 / 64;

export class HostForward {
  private constructor(
    readonly d: number,
    readonly m: number,
    readonly maxRows: number,
    private readonly k: LoopKernels & { product: NonNullable<LoopKernels['product']> },
    private readonly activation: Activation,
    private readonly a: {
      W_enc: Float32Array; b_enc: Float32Array; W_dec: Float32Array; b_dec: Float32Array; threshold: Float32Array;
      xc: Float32Array; f: Float32Array; xHat: Float32Array; rowThreshold: Float32Array;
      packA: Float32Array; packB: Float32Array;
    },
    private rows = 0,
  ) {}

  /**
   * For chunks of up to `maxRows` rows. Null where tfjs should run instead: another backend
   * (`force` skips that test), no WebAssembly SIMD, or more memory than HOST_FORWARD_BYTES.
   */
  static async create(sae: SaeTensors, maxRows: number, force = false): Promise<HostForward | null> {
    if (!force && !hostProductsApply()) return null;
    const [d, m] = sae.W_enc.shape;
    const R = Math.max(1, maxRows);
    const enc = productPackFloats(d, m);
    const dec = productPackFloats(m, d);
    const packA = Math.max(enc.packA, dec.packA);
    const packB = Math.max(enc.packB, dec.packB);
    const sizes = [2 * d * m, 2 * m, d, R * d, R * m, R * d, R, packA, packB];
    const bytes = Arena.bytesFor(sizes.map((n) => 4 * n));
    if (bytes > HOST_FORWARD_BYTES) return null;
    const arena = new Arena(bytes);
    const k = loadSimdLoops(arena.memory);
    if (!k?.product) return null;
    const a = {
      W_enc: arena.f32(d * m), b_enc: arena.f32(m), W_dec: arena.f32(m * d), b_dec: arena.f32(d), threshold: arena.f32(m),
      xc: arena.f32(R * d), f: arena.f32(R * m), xHat: arena.f32(R * d), rowThreshold: arena.f32(R),
      packA: arena.f32(packA), packB: arena.f32(packB),
    };
    const [We, be, Wd, bd] = await Promise.all([sae.W_enc.data(), sae.b_enc.data(), sae.W_dec.data(), sae.b_dec.data()]);
    a.W_enc.set(We as Float32Array);
    a.b_enc.set(be as Float32Array);
    a.W_dec.set(Wd as Float32Array);
    a.b_dec.set(bd as Float32Array);
    const act = sae.activation ?? { kind: 'relu' };
    // jumprelu: pre > relu(threshold), as thresholdOf gives it.
    if (act.kind === 'jumprelu') for (let i = 0; i < m; i++) a.threshold[i] = Math.max(act.threshold[i]!, 0);
    return new HostForward(d, m, R, k as HostForward['k'], act, a);
  }

  /** f [n, m] of the rows x [n, d] (n <= maxRows): a view, valid until the next encode. */
  encode(x: Float32Array, n: number): Float32Array {
    const { d, m, a } = this;
    if (n > this.maxRows) throw new RangeError(`HostForward.encode: ${n} rows > ${this.maxRows}`);
    for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) a.xc[r * d + j] = x[r * d + j]! - a.b_dec[j]!;
    const f = a.f.subarray(0, n * m);
    const ran = this.k.product({ M: n, N: m, K: d, a: a.xc, ars: d, acs: 1, b: a.W_enc, brs: m, bcs: 1, c: f, ldc: m, packA: a.packA, packB: a.packB });
    if (!ran) throw new RangeError('HostForward.encode: the product did not run');
    for (let r = 0; r < n; r++) {
      const o = r * m;
      for (let i = 0; i < m; i++) f[o + i] = f[o + i]! + a.b_enc[i]!;
    }
    const act = this.activation;
    if (act.kind === 'jumprelu') {
      for (let r = 0; r < n; r++) {
        const o = r * m;
        for (let i = 0; i < m; i++) if (!(f[o + i]! > a.threshold[i]!)) f[o + i] = 0;
      }
    } else {
      // relu: 0 for every row; topk: each row's (k+1)-th largest, never below 0.
      const t = act.kind === 'relu' ? a.rowThreshold.fill(0, 0, n) : hostRowThresholds(f, n, m, act, a.rowThreshold);
      for (let r = 0; r < n; r++) {
        const o = r * m;
        const tr = t[r]!;
        for (let i = 0; i < m; i++) if (!(f[o + i]! > tr)) f[o + i] = 0;
      }
    }
    this.rows = n;
    return f;
  }

  /** x_hat [n, d] of the last encode's rows: a view, valid until the next decode. */
  decode(): Float32Array {
    const { d, m, a } = this;
    const n = this.rows;
    const f = a.f.subarray(0, n * m);
    const xHat = a.xHat.subarray(0, n * d);
    let nnz = 0;
    for (let i = 0; i < n * m; i++) if (f[i] !== 0) nnz++;
    if (nnz <= n * m * SPARSE_DECODE_UP_TO) {
      const W = a.W_dec;
      xHat.fill(0);
      for (let r = 0; r < n; r++) {
        const o = r * m;
        const xo = r * d;
        for (let i = 0; i < m; i++) {
          const v = f[o + i]!;
          if (v === 0) continue;
          const wo = i * d;
          for (let j = 0; j < d; j++) xHat[xo + j] = xHat[xo + j]! + Math.fround(v * W[wo + j]!);
        }
      }
    } else {
      const ran = this.k.product({ M: n, N: d, K: m, a: f, ars: m, acs: 1, b: a.W_dec, brs: d, bcs: 1, c: xHat, ldc: d, packA: a.packA, packB: a.packB });
      if (!ran) throw new RangeError('HostForward.decode: the product did not run');
    }
    for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) xHat[r * d + j] = xHat[r * d + j]! + a.b_dec[j]!;
    return xHat;
  }
}
