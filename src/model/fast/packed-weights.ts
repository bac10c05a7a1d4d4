import type { LlamaConfig } from '../config.js';
import type { RopeTables } from '../rope.js';
import type { LlamaWeights } from '../weights.js';

/**
 * Every array the fast forward pass reads (block weights, output norm and projection, rotary
 * tables, token embedding) in one float32 buffer, by name: what a FastCore copies into its kernel
 * memory. Over a SharedArrayBuffer it reaches worker threads without a copy per message.
 */
export interface PackedWeights {
  buffer: ArrayBuffer | SharedArrayBuffer;
  /** name -> [float offset, length]; block arrays are named `L.attnNorm`, `L.wQkv`, ... */
  entries: Record<string, [number, number]>;
}

/** The blocks' array names, in the order BlockWeights declares them. */
export const BLOCK_ARRAYS = ['attnNorm', 'wQkv', 'wO', 'ffnNorm', 'wGateUp', 'wDown'] as const;

/** Pack a loaded model's arrays (read back from its tfjs tensors). `shared`: for worker threads. */
export function packWeights(c: LlamaConfig, weights: LlamaWeights, rope: RopeTables, shared: boolean): PackedWeights {
  const arrays: [string, Float32Array][] = [];
  weights.blocks.forEach((b, l) => {
    for (const name of BLOCK_ARRAYS) arrays.push([`${l}.${name}`, b[name].dataSync() as Float32Array]);
  });
  arrays.push(
    ['outputNorm', weights.outputNorm.dataSync() as Float32Array],
    ['wOut', weights.wOut.dataSync() as Float32Array],
    ['cos', rope.cos.dataSync() as Float32Array],
    ['sin', rope.sin.dataSync() as Float32Array],
    ['embedding', weights.tokenEmbedding.dataSync() as Float32Array],
  );
  if (arrays.length !== c.nLayers * BLOCK_ARRAYS.length + 5) throw new Error('packWeights: block count does not match the config');
  const total = arrays.reduce((s, [, a]) => s + a.length, 0);
  const buffer = shared ? new SharedArrayBuffer(total * 4) : new ArrayBuffer(total * 4);
  const all = new Float32Array(buffer);
  const entries: Record<string, [number, number]> = {};
  let at = 0;
  for (const [name, a] of arrays) {
    all.set(a, at);
    entries[name] = [at, a.length];
    at += a.length;
  }
  return { buffer, entries };
}

/** The named array of `p` (a view, no copy). */
export function packedArray(p: PackedWeights, name: string): Float32Array {
  const e = p.entries[name];
  if (!e) throw new Error(`packed weights: no array '${name}'`);
  return new Float32Array(p.buffer, e[0] * 4, e[1]);
}
