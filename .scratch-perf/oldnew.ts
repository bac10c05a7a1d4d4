import * as tf from '@tensorflow/tfjs';
import { initBackend } from '/work/main/src/backend/select.js';
import { SaeParams } from '/work/main/src/sae/params.js';
import { AdamState } from '/work/main/src/train/adam.js';
import { applyGradients, denseTrainStep, disposeStats } from '/work/main/src/sae/step.js';
import { createSparseTrainStep } from '/work/main/src/sae/sparse-step.js';
import { lossAndGradients as oldLG } from '/work/main/.scratch-perf/old-gradients.ts';
import { randomWeights, randomData } from '/work/main/test/helpers/tensors.js';
import { sparsifyEncoderBias } from '/work/main/src/bench/train-bench.js';
await initBackend('wasm');
const [d, m, rounds] = process.argv.slice(2).map(Number) as number[];
const B = 4096;
const xs = randomData(B, d!, 2);
const x = tf.tensor2d(xs, [B, d!]);
const cfg = { recipe: 'towards-monosemanticity' as const, lr: 1e-5, l1Coefficient: 5e-3, gradClip: undefined, adam: { beta1: 0.9, beta2: 0.999, eps: 1e-8 } };
const oldStep = (p: SaeParams, a: AdamState, x: tf.Tensor2D, c: typeof cfg) => { const { grads, stats } = oldLG(p, x, c.l1Coefficient, 'l1'); applyGradients(p, a, grads, c); return stats; };
const w0 = randomWeights(d!, m!, 1); const w1 = randomWeights(d!, m!, 1); sparsifyEncoderBias(w1, xs, B, 32);
const ks = [['old-dense', oldStep], ['dense', denseTrainStep], ['sparse', createSparseTrainStep()]] as const;
const res: Record<string, number[]> = {};
for (let r = 0; r < rounds!; r++) for (const [wn, w] of [['init', w0], ['trained', w1]] as const) for (const [name, k] of ks) {
  if (wn === 'init' && name === 'sparse') continue;
  const p = new SaeParams(w); const a = new AdamState(d!, m!);
  const s0 = k(p, a, x, cfg); disposeStats(s0);
  const t = performance.now(); const s = k(p, a, x, cfg); s.l0.dataSync(); disposeStats(s); const ms = performance.now() - t;
  (res[`${wn} ${name}`] ??= []).push(ms);
  p.dispose(); a.dispose();
}
for (const [k, v] of Object.entries(res)) console.log(k.padEnd(20), v.map((t) => t.toFixed(0)).join(' '), 'ms  min', Math.min(...v).toFixed(0));
