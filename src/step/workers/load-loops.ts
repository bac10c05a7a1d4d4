import { jsLoops, type LoopKernels } from '../kernels/loops.js';
import { loadSimdLoopsResult } from '../kernels/simd-loops.js';

/**
 * The fastest loop implementation available for arrays in `memory`: the WebAssembly SIMD one
 * when its module loads (simd-loops.ts), else the JavaScript reference, with the reason.
 */
export function loadLoops(memory: WebAssembly.Memory, simd: boolean): { loops: LoopKernels; note: string } {
  if (!simd) return { loops: jsLoops, note: 'js' };
  const r = loadSimdLoopsResult(memory);
  return r.kernels ? { loops: r.kernels, note: 'simd' } : { loops: jsLoops, note: `js; SIMD loops unavailable: ${r.reason}` };
}
