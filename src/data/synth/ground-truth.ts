import fs from 'node:fs';
import { DataType, tableFromIPC, type Table } from 'apache-arrow';
import { DataError, describeError } from '../../errors.js';
import { readSafetensorsFile } from '../../io/safetensors.js';

/** A ground-truth dictionary: one unit direction per true feature. */
export interface GroundTruth {
  /** Directions [features, d], row-major. */
  directions: Float32Array;
  features: number;
  d: number;
  source: string;
}

const HINT = 'Pass the ground-truth.safetensors (tensor W_true [features, d]) or ground-truth.arrow (column direction) written by `sae synth`.';

function fromSafetensors(file: string): GroundTruth {
  let content;
  try {
    content = readSafetensorsFile(file);
  } catch (err) {
    throw new DataError(`${file}: cannot read the ground truth (${describeError(err)})`, HINT);
  }
  const t = content.tensors['W_true'];
  if (!t) throw new DataError(`${file}: no tensor 'W_true' (found: ${Object.keys(content.tensors).join(', ') || 'none'})`, HINT);
  if (!(t.data instanceof Float32Array) || t.shape.length !== 2) {
    throw new DataError(`${file}: tensor 'W_true' is ${t.dtype} [${t.shape.join(', ')}], expected a float matrix [features, d]`, HINT);
  }
  return { directions: t.data, features: t.shape[0]!, d: t.shape[1]!, source: file };
}

function fromArrow(file: string): GroundTruth {
  let table: Table;
  try {
    table = tableFromIPC(fs.readFileSync(file));
  } catch (err) {
    throw new DataError(`${file}: cannot read the ground truth as Arrow IPC (${describeError(err)})`, HINT);
  }
  const field = table.schema.fields.find((f) => f.name === 'direction');
  if (!field) {
    throw new DataError(`${file}: no column 'direction' (columns: ${table.schema.fields.map((f) => f.name).join(', ')})`, HINT);
  }
  if (!DataType.isFixedSizeList(field.type) || !DataType.isFloat(field.type.valueType)) {
    throw new DataError(`${file}: column 'direction' is ${String(field.type)}, expected FixedSizeList<Float32>[d]`, HINT);
  }
  const d = field.type.listSize;
  const features = table.numRows;
  const col = table.getChild('direction')!;
  const directions = new Float32Array(features * d);
  // Row by row through the Vector API: a ground truth has at most a few thousand rows.
  for (let i = 0; i < features; i++) {
    const v = col.get(i) as { toArray(): ArrayLike<number> } | null;
    if (!v) throw new DataError(`${file}: row ${i} of column 'direction' is null`, HINT);
    directions.set(v.toArray(), i * d);
  }
  return { directions, features, d, source: file };
}

/** Load a ground-truth dictionary from .safetensors or .arrow. Throws DataError on bad input. */
export function loadGroundTruth(file: string): GroundTruth {
  if (!fs.existsSync(file)) throw new DataError(`${file}: no such ground-truth file`, HINT);
  return file.endsWith('.safetensors') ? fromSafetensors(file) : fromArrow(file);
}
