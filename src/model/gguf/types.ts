/**
 * GGUF constants (ggml/include/gguf.h, ggml.h). Only what `sae` reads is named; an unknown value
 * type is a parse error, an unknown tensor type is reported by name where known.
 */

/** Metadata value types of GGUF v2/v3. */
export const GGUF_VALUE = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

/** Bytes per item of the fixed-size value types (STRING and ARRAY are variable). */
export const GGUF_VALUE_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** A ggml tensor type: its name, elements per block and bytes per block. */
export interface GgmlType {
  name: string;
  blockSize: number;
  typeSize: number;
  /** Whether `sae` can dequantise it. */
  supported: boolean;
}

/** ggml_type ids (ggml.h). Sizes from ggml's type_traits table. */
export const GGML_TYPES: Record<number, GgmlType> = {
  0: { name: 'F32', blockSize: 1, typeSize: 4, supported: true },
  1: { name: 'F16', blockSize: 1, typeSize: 2, supported: true },
  2: { name: 'Q4_0', blockSize: 32, typeSize: 18, supported: true },
  3: { name: 'Q4_1', blockSize: 32, typeSize: 20, supported: false },
  6: { name: 'Q5_0', blockSize: 32, typeSize: 22, supported: false },
  7: { name: 'Q5_1', blockSize: 32, typeSize: 24, supported: false },
  8: { name: 'Q8_0', blockSize: 32, typeSize: 34, supported: true },
  9: { name: 'Q8_1', blockSize: 32, typeSize: 36, supported: false },
  10: { name: 'Q2_K', blockSize: 256, typeSize: 84, supported: false },
  11: { name: 'Q3_K', blockSize: 256, typeSize: 110, supported: false },
  12: { name: 'Q4_K', blockSize: 256, typeSize: 144, supported: false },
  13: { name: 'Q5_K', blockSize: 256, typeSize: 176, supported: false },
  14: { name: 'Q6_K', blockSize: 256, typeSize: 210, supported: false },
  15: { name: 'Q8_K', blockSize: 256, typeSize: 292, supported: false },
  24: { name: 'I8', blockSize: 1, typeSize: 1, supported: false },
  25: { name: 'I16', blockSize: 1, typeSize: 2, supported: false },
  26: { name: 'I32', blockSize: 1, typeSize: 4, supported: false },
  27: { name: 'I64', blockSize: 1, typeSize: 8, supported: false },
  28: { name: 'F64', blockSize: 1, typeSize: 8, supported: false },
  30: { name: 'BF16', blockSize: 1, typeSize: 2, supported: false },
};

/** Names of the tensor types `sae` dequantises, for messages. */
export const SUPPORTED_TENSOR_TYPES = Object.values(GGML_TYPES)
  .filter((t) => t.supported)
  .map((t) => t.name);
