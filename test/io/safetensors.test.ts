import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunError } from '../../src/errors.js';
import { decodeSafetensors, encodeSafetensors, readSafetensorsFile, writeSafetensorsFile } from '../../src/io/safetensors.js';
import { rmTmp, tmpDir } from '../helpers/cli.js';
import { parseSafetensors } from '../helpers/load-export.js';
import { maxAbsDiff } from '../helpers/tensors.js';

/** Build a safetensors buffer by hand from a header object and raw data bytes. */
function handMade(header: unknown, data: Uint8Array, pad = 0): Uint8Array {
  const json = Buffer.from(JSON.stringify(header) + ' '.repeat(pad));
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  Buffer.from(data).copy(out, 8 + json.length);
  return out;
}

describe('safetensors encode', () => {
  const dir = tmpDir();
  afterAll(() => rmTmp(dir));

  it('lays out header, alignment, offsets and values per the spec', () => {
    const a = Float32Array.from({ length: 6 }, (_, i) => i * 0.5 - 1);
    const b = Float32Array.from([1.5, -2.25, 3]);
    const idx = Int32Array.from([7, -3]);
    const big = BigInt64Array.from([2n ** 40n, -5n]);
    const bytes = encodeSafetensors(
      { a: { dtype: 'F32', shape: [2, 3], data: a }, idx: { dtype: 'I32', shape: [2], data: idx }, half: { dtype: 'F16', shape: [3], data: b }, big: { dtype: 'I64', shape: [2], data: big } },
      { model: 'toy', d_in: '3' },
    );
    const st = parseSafetensors(Buffer.from(bytes));
    expect(st.headerLength % 8).toBe(0);
    expect(st.dataStart % 8).toBe(0);
    expect(st.metadata).toEqual({ model: 'toy', d_in: '3' });
    expect(st.tensors['a']).toMatchObject({ dtype: 'F32', shape: [2, 3], values: Array.from(a) });
    expect(st.tensors['idx']).toMatchObject({ dtype: 'I32', shape: [2], values: [7, -3] });
    expect(st.tensors['big']).toMatchObject({ dtype: 'I64', shape: [2], values: [2 ** 40, -5] });
    expect(st.tensors['half']!.dtype).toBe('F16');
    expect(st.tensors['half']!.values).toEqual([1.5, -2.25, 3]); // exactly representable in float16
    // Offsets tile the data buffer with no holes, each tensor aligned to its element size.
    const spans = Object.values(st.tensors).sort((x, y) => x.begin - y.begin);
    let cursor = 0;
    for (const t of spans) {
      expect(t.begin).toBe(cursor);
      const size = t.dtype === 'F16' ? 2 : t.dtype === 'I64' ? 8 : 4;
      expect(t.begin % size).toBe(0);
      expect(t.end - t.begin).toBe(t.shape.reduce((p, s) => p * s, 1) * size);
      cursor = t.end;
    }
    expect(st.dataStart + cursor).toBe(st.fileLength);
    // The header's padding is spaces.
    const raw = Buffer.from(bytes).subarray(8, 8 + st.headerLength).toString('utf8');
    expect(raw.trimEnd()).toBe(JSON.stringify(st.header));
  });

  it('round-trips through its own decoder, F16 within float16 precision', () => {
    const w = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * 3);
    const bytes = encodeSafetensors({ w: { dtype: 'F16', shape: [8, 8], data: w }, v: { dtype: 'F32', shape: [64], data: w } });
    const back = decodeSafetensors(bytes, 'mem');
    expect(back.metadata).toEqual({});
    expect(Array.from(back.tensors['v']!.data as Float32Array)).toEqual(Array.from(w));
    const half = back.tensors['w']!.data as Float32Array;
    expect(maxAbsDiff(half, w)).toBeLessThan(3 * 2 ** -11 + 1e-7);
    expect(back.tensors['w']!.shape).toEqual([8, 8]);
  });

  it('writes and reads files atomically', () => {
    const f = path.join(dir, 'x.safetensors');
    writeSafetensorsFile(f, { t: { dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) } }, { k: 'v' });
    expect(fs.readdirSync(dir)).toEqual(['x.safetensors']);
    const back = readSafetensorsFile(f);
    expect(Array.from(back.tensors['t']!.data as Float32Array)).toEqual([1, 2]);
    expect(back.metadata).toEqual({ k: 'v' });
  });

  it('refuses data that does not fill the shape', () => {
    expect(() => encodeSafetensors({ t: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(/shape \[3\] needs 3/);
  });
});

describe('safetensors decode validation', () => {
  const four = new Uint8Array(8);
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(4), /shorter than the 8-byte header length/],
    ['header length past the end', (() => { const b = Buffer.alloc(16); b.writeBigUInt64LE(1000n, 0); return b; })(), /exceeds the file/],
    ['header not JSON', (() => { const b = Buffer.alloc(12); b.writeBigUInt64LE(4n, 0); b.write('{{{{', 8); return b; })(), /not JSON/],
    ['offsets out of range', handMade({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 16] } }, four), /outside the 8-byte data buffer/],
    ['size mismatch', handMade({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, four), /needs 12/],
    ['overlap', handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, four), /overlaps/],
    ['hole', handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, four), /belong to no tensor/],
    ['unknown dtype', handMade({ a: { dtype: 'Q7', shape: [1], data_offsets: [0, 8] } }, four), /unsupported dtype/],
    ['bad metadata', handMade({ __metadata__: { n: 3 }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, four), /__metadata__.n is not a string/],
  ];
  for (const [name, bytes, msg] of cases) {
    it(`rejects ${name} naming the file`, () => {
      let err: unknown;
      try {
        decodeSafetensors(bytes, 'runs/x/sae_weights.safetensors');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RunError);
      expect((err as RunError).message).toMatch(/^runs\/x\/sae_weights\.safetensors: /);
      expect((err as RunError).message).toMatch(msg);
    });
  }

  it('accepts a hand-made file with padding and metadata', () => {
    const data = Buffer.alloc(8);
    data.writeFloatLE(2.5, 0);
    data.writeFloatLE(-1, 4);
    const back = decodeSafetensors(handMade({ __metadata__: { a: 'b' }, t: { dtype: 'F32', shape: [2, 1], data_offsets: [0, 8] } }, data, 5), 'f');
    expect(back.metadata).toEqual({ a: 'b' });
    expect(back.tensors['t']!.shape).toEqual([2, 1]);
    expect(Array.from(back.tensors['t']!.data as Float32Array)).toEqual([2.5, -1]);
  });
});
