import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../../src/errors.js';
import { llamaConfig } from '../../../src/model/config.js';
import { readGgufHeader } from '../../../src/model/gguf/reader.js';
import { Rng } from '../../../src/util/rng.js';
import { rmTmp, tmpDir } from '../../helpers/cli.js';
import { STORIES_260K, writeTinyModel } from '../model-files.js';

const dir = tmpDir('sae-gguf-');
afterAll(() => rmTmp(dir));
const original = fs.readFileSync(STORIES_260K);

function variant(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** Reading must either succeed or throw a ModelError naming the file; nothing else may escape. */
function readOrModelError(file: string): ModelError | null {
  try {
    llamaConfig(readGgufHeader(file));
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).message).toContain(file);
    return err as ModelError;
  }
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ModelError);
    return (err as Error).message;
  }
  throw new Error('expected a ModelError');
}

describe('readGgufHeader on stories260K', () => {
  it('reads the metadata and the tensor directory', () => {
    const h = readGgufHeader(STORIES_260K);
    expect(h.version).toBe(3);
    expect(h.metadata.get('general.architecture')).toBe('llama');
    expect(h.metadata.get('llama.embedding_length')).toBe(64);
    expect(h.tensors).toHaveLength(3 + 5 * 9);
    expect(h.tensors.find((t) => t.name === 'blk.0.attn_k.weight')!.dims).toEqual([64, 32]);
    const c = llamaConfig(h);
    expect(c).toMatchObject({ dModel: 64, nLayers: 5, nHeads: 8, nKvHeads: 4, headDim: 8, ffnDim: 172, vocabSize: 512, tiedOutput: false });
  });
});

describe('hostile files', () => {
  it('rejects a file that is not GGUF', () => {
    const msg = messageOf(() => readGgufHeader(variant('text.gguf', new TextEncoder().encode('hello world, not a model'))));
    expect(msg).toMatch(/expected "GGUF"/);
  });

  it('rejects an unknown version', () => {
    const b = Uint8Array.from(original);
    new DataView(b.buffer).setUint32(4, 1, true);
    expect(messageOf(() => readGgufHeader(variant('v1.gguf', b)))).toMatch(/version 1; sae reads versions 2 and 3/);
  });

  it('rejects absurd counts before allocating', () => {
    const b = Uint8Array.from(original);
    new DataView(b.buffer).setBigUint64(8, 1n << 40n, true);
    expect(messageOf(() => readGgufHeader(variant('count.gguf', b)))).toMatch(/claims 1099511627776 tensors/);
    const c = Uint8Array.from(original);
    new DataView(c.buffer).setBigUint64(16, 1n << 62n, true);
    expect(messageOf(() => readGgufHeader(variant('kv.gguf', c)))).toMatch(/metadata entries/);
  });

  it('rejects an absurd string length', () => {
    // The first key's length field follows the 24-byte fixed header.
    const b = Uint8Array.from(original);
    new DataView(b.buffer).setBigUint64(24, 1n << 50n, true);
    expect(messageOf(() => readGgufHeader(variant('strlen.gguf', b)))).toMatch(/truncated|bytes claimed/);
  });

  it('rejects every truncated copy with a ModelError', () => {
    const h = readGgufHeader(STORIES_260K);
    const cuts = [0, 2, 4, 7, 12, 23, 24, 30, 100, 1000, 5000, 20000, h.dataOffset - 1, h.dataOffset, h.dataOffset + 1000, original.length - 1];
    for (const cut of cuts) {
      const err = readOrModelError(variant(`cut-${cut}.gguf`, original.subarray(0, cut)));
      expect(err, `cut at ${cut}`).not.toBeNull();
    }
  });

  it('survives random corruption of the header: a ModelError or a valid read, nothing else', () => {
    const h = readGgufHeader(STORIES_260K);
    const rng = new Rng(7);
    let rejected = 0;
    for (let trial = 0; trial < 150; trial++) {
      const b = Uint8Array.from(original.subarray(0, h.dataOffset + 4096));
      const flips = 1 + rng.int(4);
      for (let f = 0; f < flips; f++) b[rng.int(h.dataOffset)] = rng.int(256);
      if (readOrModelError(variant('fuzz.gguf', b))) rejected++;
    }
    expect(rejected).toBeGreaterThan(0);
  });

  it('names the architecture and what is supported', () => {
    const file = writeTinyModel(dir, 'gpt2.gguf', (m) => {
      m.entries[0] = { key: 'general.architecture', type: 'string', value: 'gpt2' };
    });
    expect(messageOf(() => llamaConfig(readGgufHeader(file)))).toMatch(/architecture 'gpt2' is not supported/);
  });

  it('names an unsupported tensor type', () => {
    const file = writeTinyModel(dir, 'q4k.gguf', (m) => {
      const t = m.tensors.find((x) => x.name === 'blk.0.ffn_up.weight')!;
      // Q4_K: 144 bytes per 256 elements; a row of 16 is not a whole block, so use the block count check.
      t.type = 12;
    });
    expect(messageOf(() => llamaConfig(readGgufHeader(file)))).toMatch(/Q4_K/);
  });

  it('names a tensor whose shape does not match the metadata', () => {
    const file = writeTinyModel(dir, 'shape.gguf', (m) => {
      m.entries.find((e) => e.key === 'llama.feed_forward_length')!.value = 30;
    });
    expect(messageOf(() => llamaConfig(readGgufHeader(file)))).toMatch(/blk\.0\.ffn_gate\.weight' has shape \[16, 24\], expected \[16, 30\]/);
  });

  it('rejects a missing file and a folder', () => {
    expect(messageOf(() => readGgufHeader(path.join(dir, 'nope.gguf')))).toMatch(/cannot open/);
    expect(messageOf(() => readGgufHeader(dir))).toMatch(/folder|EISDIR/);
  });
});
