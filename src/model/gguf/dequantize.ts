import { float16BitsToFloat32 } from '../../io/float16.js';
import { ModelError } from '../../errors.js';
import { GGML_TYPES, SUPPORTED_TENSOR_TYPES } from './types.js';

/**
 * Tensor bytes of ggml type `type` -> float32 values, in ggml's element order (dims[0] fastest).
 * Block layouts follow ggml-quants.c: Q8_0 = f16 scale + 32 int8; Q4_0 = f16 scale + 16 bytes of
 * nibbles, low nibbles are elements 0..15 and high nibbles 16..31, each stored minus 8.
 */
export function dequantize(bytes: Uint8Array, type: number, elements: number, where: string): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(elements);
  switch (type) {
    case 0: // F32
      for (let i = 0; i < elements; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case 1: // F16
      for (let i = 0; i < elements; i++) out[i] = float16BitsToFloat32(view.getUint16(i * 2, true));
      return out;
    case 8: {
      // Q8_0
      for (let b = 0; b < elements / 32; b++) {
        const base = b * 34;
        const d = float16BitsToFloat32(view.getUint16(base, true));
        for (let j = 0; j < 32; j++) out[b * 32 + j] = d * view.getInt8(base + 2 + j);
      }
      return out;
    }
    case 2: {
      // Q4_0
      for (let b = 0; b < elements / 32; b++) {
        const base = b * 18;
        const d = float16BitsToFloat32(view.getUint16(base, true));
        for (let j = 0; j < 16; j++) {
          const q = bytes[base + 2 + j]!;
          out[b * 32 + j] = d * ((q & 0x0f) - 8);
          out[b * 32 + j + 16] = d * ((q >> 4) - 8);
        }
      }
      return out;
    }
    default: {
      const name = GGML_TYPES[type]?.name ?? `unknown type ${type}`;
      throw new ModelError(`${where}: tensor type ${name} is not supported.`, `sae reads ${SUPPORTED_TENSOR_TYPES.join(', ')} tensors; re-quantise the model to one of them (llama-quantize ... Q8_0).`);
    }
  }
}
