import fs from 'node:fs';
import path from 'node:path';
import { DataType, tableFromIPC, vectorFromArray, Float64, Bool } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { writeArrowFile } from '../../src/io/arrow-write.js';
import { rmTmp, tmpDir } from '../helpers/cli.js';

describe('writeArrowFile', () => {
  const dir = tmpDir();
  afterAll(() => rmTmp(dir));

  it('writes an IPC file with scalar, string, vector and pass-through columns and schema metadata', () => {
    const f = path.join(dir, 't.arrow');
    const vec = Float32Array.from({ length: 9 }, (_, i) => i / 4);
    writeArrowFile(
      f,
      [
        { name: 'index', kind: 'int32', values: Int32Array.from([4, 5, 6]) },
        { name: 'score', kind: 'float32', values: Float32Array.from([0.5, -1, 2]) },
        { name: 'token', kind: 'utf8', values: ['a', 'bé', ''] },
        { name: 'decoder', kind: 'vector', width: 3, values: vec },
        { name: 'p', kind: 'arrow', vector: vectorFromArray([1.5, null, 3], new Float64()) },
        { name: 'dead', kind: 'arrow', vector: vectorFromArray([true, false, true], new Bool()) },
      ],
      { model: 'toy', layer: '2' },
    );
    expect(fs.readdirSync(dir)).toEqual(['t.arrow']);
    const bytes = fs.readFileSync(f);
    expect(bytes.subarray(0, 6).toString('latin1')).toBe('ARROW1'); // the IPC file format's magic
    const t = tableFromIPC(bytes);
    expect(t.numRows).toBe(3);
    expect(t.schema.metadata.get('model')).toBe('toy');
    expect(t.schema.metadata.get('layer')).toBe('2');
    expect(t.schema.fields.map((x) => x.name)).toEqual(['index', 'score', 'token', 'decoder', 'p', 'dead']);
    expect(DataType.isInt(t.schema.fields[0]!.type)).toBe(true);
    const dec = t.schema.fields[3]!.type;
    expect(DataType.isFixedSizeList(dec)).toBe(true);
    expect((dec as unknown as { listSize: number }).listSize).toBe(3);
    expect(Array.from(t.getChild('index')!.toArray() as Int32Array)).toEqual([4, 5, 6]);
    expect(Array.from(t.getChild('score')!.toArray() as Float32Array)).toEqual([0.5, -1, 2]);
    expect([...t.getChild('token')!]).toEqual(['a', 'bé', '']);
    expect(Array.from(t.getChild('decoder')!.get(2) as Float32Array)).toEqual([1.5, 1.75, 2]);
    expect([...t.getChild('p')!]).toEqual([1.5, null, 3]);
    expect([...t.getChild('dead')!]).toEqual([true, false, true]);
  });
});
