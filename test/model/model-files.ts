import fs from 'node:fs';
import path from 'node:path';
import { REPO } from '../helpers/cli.js';
import { encodeGguf } from '../../src/model/gguf/writer.js';
import { randomLlamaGguf, type LlamaShape } from '../../src/model/random-model.js';
import type { GgufEntry, GgufTensorToWrite } from '../../src/model/gguf/writer.js';

/** The shipped stories260K model (same bytes as ../shared/models/stories260K.gguf). */
export const STORIES_260K = path.join(REPO, 'fixtures', 'stories260K.gguf');

export const TINY_SHAPE: LlamaShape = { dModel: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnDim: 24, vocabSize: 300, contextLength: 64 };

/** Write a random tiny llama GGUF into dir, after letting `edit` change its entries/tensors. */
export function writeTinyModel(dir: string, name: string, edit?: (m: { entries: GgufEntry[]; tensors: GgufTensorToWrite[] }) => void, shape = TINY_SHAPE, type: 'F32' | 'F16' = 'F32'): string {
  const m = randomLlamaGguf(shape, { seed: 3, type });
  edit?.(m);
  const file = path.join(dir, name);
  fs.writeFileSync(file, encodeGguf(m.entries, m.tensors));
  return file;
}
