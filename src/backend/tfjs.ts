/**
 * The TensorFlow.js API this toolkit uses, loaded with `require`. Every module imports tfjs from
 * here, never from '@tensorflow/tfjs' itself.
 *
 * Why: an ECMAScript `import` of a CommonJS package makes Node scan the package's source for
 * its export names, following its re-exports. For '@tensorflow/tfjs' that means scanning
 * tfjs-core, layers, converter and data too: 440-490 ms, against 230 ms for `require` of the same
 * package (BENCHMARKS.md). Every process pays this, and so does every worker thread: it was 510 of
 * a worker's 660 ms start-up. The names below are read from the required module once.
 *
 * Something missing? Add it here, as a value (the list below) or as a type (the `export type` list).
 */
import { createRequire } from 'node:module';
import type * as Tfjs from '@tensorflow/tfjs';

const tf = createRequire(import.meta.url)('@tensorflow/tfjs') as typeof Tfjs;

export const {
  abs,
  add,
  addN,
  argMax,
  backend,
  broadcastTo,
  cast,
  clone,
  concat,
  dispose,
  div,
  env,
  equal,
  exp,
  expandDims,
  fill,
  findBackendFactory,
  fused,
  gather,
  getBackend,
  grad,
  grads,
  greater,
  keep,
  less,
  log,
  logSoftmax,
  matMul,
  max,
  maximum,
  mean,
  memory,
  minimum,
  mul,
  neg,
  norm,
  oneHot,
  ones,
  onesLike,
  randomNormal,
  range,
  registerBackend,
  relu,
  removeBackend,
  reshape,
  rsqrt,
  scalar,
  scatterND,
  setBackend,
  sigmoid,
  slice,
  softmax,
  split,
  sqrt,
  square,
  squeeze,
  stack,
  step,
  sub,
  sum,
  tanh,
  tensor,
  tensor1d,
  tensor2d,
  tensor3d,
  tensor4d,
  tidy,
  tile,
  topk,
  transpose,
  valueAndGrad,
  variable,
  version,
  where,
  zeros,
  zerosLike,
} = tf;

export type {
  KernelBackend,
  MemoryInfo,
  Rank,
  Scalar,
  Tensor,
  Tensor1D,
  Tensor2D,
  Tensor3D,
  Tensor4D,
  TensorInfo,
  Variable,
} from '@tensorflow/tfjs';
