import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunError } from '../../src/errors.js';
import { decodeNpy, encodeNpy, readNpyFile, writeNpyFile } from '../../src/io/npy.js';
import { rmTmp, tmpDir } from '../helpers/cli.js';
import { parseNpy } from '../helpers/load-export.js';
import { maxAbsDiff } from '../helpers/tensors.js';

describe('npy writer', () => {
  const dir = tmpDir();
  afterAll(() => rmTmp(dir));

  it('writes a version 1.0 header padded to a multiple of 64 bytes', () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => i - 5.5);
    const bytes = Buffer.from(encodeNpy(data, [3, 4], '<f4'));
    const p = parseNpy(bytes);
    expect(p.major).toBe(1);
    expect(bytes[7]).toBe(0);
    expect(p.dataStart % 64).toBe(0);
    expect(p.headerText.endsWith('\n')).toBe(true);
    expect(p.headerText.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }")).toBe(true);
    expect(p.headerText.slice(0, -1).trimEnd()).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }");
    expect(p.shape).toEqual([3, 4]);
    expect(p.values).toEqual(Array.from(data));
    expect(bytes.length).toBe(p.dataStart + 12 * 4);
  });

  it("writes 1-D shapes as '(m,)' and '<f2' within float16 precision", () => {
    const data = Float32Array.from({ length: 5 }, (_, i) => Math.cos(i) * 10);
    const p = parseNpy(Buffer.from(encodeNpy(data, [5], '<f2')));
    expect(p.headerText).toContain("'shape': (5,)");
    expect(p.descr).toBe('<f2');
    expect(p.dataStart % 64).toBe(0);
    expect(maxAbsDiff(p.values, data)).toBeLessThan(10 * 2 ** -11);
  });

  it("writes '<i4' and reads all three back", () => {
    const ints = Int32Array.from([3, -1, 2 ** 30]);
    const back = decodeNpy(encodeNpy(ints, [3], '<i4'), 'mem');
    expect(back.descr).toBe('<i4');
    expect(Array.from(back.data)).toEqual([3, -1, 2 ** 30]);
    const f = path.join(dir, 'a.npy');
    const data = Float32Array.from([1.25, 2.5, -3, 4]);
    writeNpyFile(f, data, [2, 2], '<f2');
    const read = readNpyFile(f);
    expect(read.shape).toEqual([2, 2]);
    expect(Array.from(read.data)).toEqual([1.25, 2.5, -3, 4]);
    expect(fs.readdirSync(dir)).toEqual(['a.npy']);
  });

  it('reads a hand-made version 2.0 file', () => {
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    const padded = header + ' '.repeat(64 - ((12 + header.length + 1) % 64)) + '\n';
    const buf = Buffer.alloc(12 + padded.length + 8);
    buf.set([0x93], 0);
    buf.write('NUMPY', 1, 'latin1');
    buf[6] = 2;
    buf[7] = 0;
    buf.writeUInt32LE(padded.length, 8);
    buf.write(padded, 12, 'latin1');
    buf.writeFloatLE(0.5, 12 + padded.length);
    buf.writeFloatLE(-7, 16 + padded.length);
    expect(Array.from(decodeNpy(buf, 'v2.npy').data)).toEqual([0.5, -7]);
  });

  it('rejects Fortran order, unknown dtypes and short data, naming the file', () => {
    const good = Buffer.from(encodeNpy(Float32Array.from([1, 2]), [2], '<f4'));
    const fortran = Buffer.from(good.toString('latin1').replace("'fortran_order': False", "'fortran_order': True "), 'latin1');
    expect(() => decodeNpy(fortran, 'x.npy')).toThrow(/x\.npy: .*Fortran/);
    const f8 = Buffer.from(good.toString('latin1').replace("'<f4'", "'<f8'"), 'latin1');
    expect(() => decodeNpy(f8, 'x.npy')).toThrow(/dtype '<f8'/);
    expect(() => decodeNpy(good.subarray(0, good.length - 1), 'x.npy')).toThrow(RunError);
    expect(() => decodeNpy(Buffer.from('hello world'), 'x.npy')).toThrow(/magic/);
  });
});
