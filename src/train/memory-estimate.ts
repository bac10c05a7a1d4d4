import { screenRowsFloats } from '../step/kernels/loops.js';
import { DEFAULT_SPARSE_CAPACITY } from '../step/workers/layout.js';

/** The shape of a run, as far as its memory goes. */
export interface MemoryShape {
  d: number;
  m: number;
  batchSize: number;
  /** Rows the shuffle buffer holds (data.shuffleBuffer, at most the training rows). */
  shuffleRows: number;
  /** Worker threads of the step (0: none). */
  workers: number;
}

/** One part of the estimate, with the setting that shrinks it. */
export interface MemoryItem {
  what: string;
  bytes: number;
  /** The config fields that make this part smaller. */
  lower: string;
}

export interface MemoryEstimate {
  items: MemoryItem[];
  total: number;
  /** Bytes of tensors in the tfjs backend's heap (weights, Adam, gradients, batch intermediates). */
  tensorBytes: number;
}

/** Node, V8, tfjs and the wasm runtime before any run-sized allocation (measured ~250-300 MB). */
export const RUNTIME_BYTES = 300 * 2 ** 20;
/** One worker thread's own runtime (V8 isolate and its wasm instance). */
export const WORKER_BYTES = 40 * 2 ** 20;
/** The wasm32 address space: the tfjs wasm heap and the workers' shared memory each stop here. */
export const WASM_HEAP_LIMIT = 4 * 2 ** 30 - 2 ** 16;

/**
 * What a training run needs at its peak, from its shape alone (bytes; float32 = 4). The terms
 * follow what the step allocates: weights W_enc, W_dec [d, m] with two Adam moments each (6 d m),
 * the gradients and Adam's temporaries during the update (4 d m), the [batch, m] intermediates
 * of the forward and backward pass (pre-activations, f, its gradient, a mask: 4 batch m), the
 * shuffle buffer (rows x d), and with worker threads their shared memory (the state once more:
 * weights, moments, gradients, 8 d m; the [batch, m] gradient; the sparse-entry buffers, about six
 * 4-byte arrays per active entry at DEFAULT_SPARSE_CAPACITY of batch x m; the pre-activations
 * [batch, m], the products' packed weights and the dense step's transposed gW_enc, 2 d m; the
 * screened product's quantized weights, d m / 2, and its prepared rows, about 1.5 batch d) and their runtimes.
 * Checked against `npm run bench:memory` (BENCHMARKS.md): d 256, m 1024, batch 4096, buffer 65,536,
 * two workers estimates 576 MB against 531-562 MiB measured.
 */
export function estimateRunMemory(s: MemoryShape): MemoryEstimate {
  const f32 = 4;
  const dm = s.d * s.m;
  const bm = s.batchSize * s.m;
  const weights = 6 * dm * f32;
  const update = 4 * dm * f32;
  const batch = 4 * bm * f32;
  const items: MemoryItem[] = [
    { what: 'weights and Adam moments', bytes: weights, lower: 'sae.width / sae.expansion' },
    { what: 'gradients and optimizer temporaries', bytes: update, lower: 'sae.width / sae.expansion' },
    { what: 'batch intermediates [batch, width]', bytes: batch, lower: 'train.batchSize or sae.width' },
    { what: 'shuffle buffer', bytes: s.shuffleRows * s.d * f32, lower: 'data.shuffleBuffer' },
  ];
  if (s.workers > 0) {
    // + the pre-activations [batch, width], the products' packed weights and the dense step's transposed gW_enc (2 d x width),
    // the screened product's quantized weights (d x width / 2) and prepared rows (loops.ts screenRowsFloats).
    const shared = 8 * dm * f32 + bm * f32 + Math.ceil(DEFAULT_SPARSE_CAPACITY * bm) * 6 * f32 + (bm + 2.5 * dm) * f32 + screenRowsFloats(s.batchSize, s.d) * f32;
    items.push({ what: `${s.workers} worker threads`, bytes: shared + s.workers * WORKER_BYTES, lower: 'train.workers, sae.width or train.batchSize' });
  }
  items.push({ what: 'runtime', bytes: RUNTIME_BYTES, lower: '' });
  const total = items.reduce((a, b) => a + b.bytes, 0);
  return { items, total, tensorBytes: weights + update + batch };
}

/** "1.5 GiB", "300 MiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

/** Parse a size such as `8G`, `512MiB`, `1.5gb` or `1000000` (bytes); null when it is not one. */
export function parseByteSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(text);
  if (!m) return null;
  const scale = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const bytes = Math.round(Number(m[1]) * scale);
  return bytes > 0 ? bytes : null;
}
