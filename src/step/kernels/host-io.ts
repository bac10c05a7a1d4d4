import * as tf from '../../backend/tfjs.js';

interface WasmHeapBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

function wasmBackend(): WasmHeapBackend | null {
  if (tf.getBackend() !== 'wasm') return null;
  const b = tf.backend() as unknown as Partial<WasmHeapBackend>;
  return typeof b.typedArrayFromHeap === 'function' ? (b as WasmHeapBackend) : null;
}

/**
 * The float32 data of t on the host, for reading only. On the wasm backend this is a view of
 * the tensor's bytes in the module's memory (no copy: a [4096, 8192] copy costs ~100 ms); the
 * view is invalidated when the heap grows, so take it after the last tfjs allocation and use it
 * before the next. Other backends: dataSync (a copy, or the cpu backend's own array).
 */
export function hostView(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`hostView: expected float32, got ${t.dtype}`);
  const wasm = wasmBackend();
  if (wasm) return wasm.typedArrayFromHeap(t) as Float32Array;
  return t.dataSync() as Float32Array;
}

/**
 * A new tensor holding a copy of buf (which the caller keeps reusing). The wasm backend copies
 * into its heap itself; the cpu backend would keep a reference, so copy first there.
 */
export function tensorFromHost<R extends tf.Rank>(buf: Float32Array, shape: number[]): tf.Tensor<R> {
  const data = tf.getBackend() === 'wasm' ? buf : buf.slice();
  return tf.tensor(data, shape, 'float32') as unknown as tf.Tensor<R>;
}
