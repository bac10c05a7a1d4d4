import * as tf from '../backend/tfjs.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchStream } from '../data/batch-stream.js';
import { scanDataset } from '../data/dataset.js';
import { prefetch } from '../data/prefetch.js';
import { SYNTH_DEFAULTS, SynthGenerator } from '../data/synth/synth.js';
import type { ColumnOptions } from '../data/types.js';
import type { BenchShape } from './configs.js';

export const DEFAULT_COLUMNS: ColumnOptions = { column: 'activation', columns: { tokenId: 'token_id', token: 'token', docId: 'doc_id', pos: 'pos' } };

/** The real-model activation fixture shipped with the package (stories260K, layer 2, d = 64). */
export function fixturePath(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'stories260k-L2-train-8k.arrow');
}

/** An endless source of training batches, host side. */
export interface BatchSource {
  d: number;
  next(): Promise<Float32Array>;
  /** A sample of rows for initialisation: [rows, d]. */
  sample: Float32Array;
  sampleRows: number;
}

/**
 * Synthetic superposition data (data/synth.ts) with m/2 ground-truth features and 16 active per
 * row, generated once into a pool of `poolBatches` batches that is cycled (generation is not
 * what the benchmark measures); or the fixture through the real data path (Arrow decode and
 * shuffle buffer, as in training).
 */
export async function openBatchSource(shape: BenchShape, seed: number, poolBatches = 4): Promise<BatchSource> {
  const { d, batch } = shape;
  if (shape.data === 'fixture') {
    const ds = await scanDataset([fixturePath()], DEFAULT_COLUMNS);
    if (ds.d !== d) throw new Error(`fixture has d=${ds.d}, config ${shape.name} expects ${d}`);
    const stream = new BatchStream(ds, DEFAULT_COLUMNS, { batchSize: batch, shuffleBuffer: 65536, seed, epochs: Infinity });
    // As the trainer reads it: the next batch is decoded while the step runs (on the workers).
    const it = prefetch(stream)[Symbol.asyncIterator]();
    const first = (await it.next()).value!;
    let pending: Float32Array | null = first.x;
    return {
      d,
      sample: first.x,
      sampleRows: first.rows,
      next: async () => {
        if (pending) {
          const x = pending;
          pending = null;
          return x;
        }
        return (await it.next()).value!.x;
      },
    };
  }
  const gen = new SynthGenerator({
    ...SYNTH_DEFAULTS,
    rows: poolBatches * batch,
    features: Math.max(16, shape.m / 2),
    dim: d,
    active: 16,
    seed,
    blockRows: batch,
  });
  const pool: Float32Array[] = [];
  for (let k = 0; k < poolBatches; k++) pool.push(gen.nextBlock(batch)!.x);
  let k = 0;
  return { d, sample: pool[0]!, sampleRows: batch, next: async () => pool[k++ % pool.length]! };
}

/** A host batch as the trainer makes it: one tensor [rows, d]. */
export function toTensor(x: Float32Array, d: number): tf.Tensor2D {
  return tf.tensor2d(x, [x.length / d, d]);
}
