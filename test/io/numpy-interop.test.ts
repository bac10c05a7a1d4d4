import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toFloat16Array } from '../../src/io/float16.js';
import { writeNpyFile } from '../../src/io/npy.js';
import { writeSafetensorsFile } from '../../src/io/safetensors.js';
import { Rng } from '../../src/util/rng.js';
import { rmTmp, tmpDir } from '../helpers/cli.js';

/** NumPy itself, when this machine has it: the reference reader for .npy and float16 rounding. */
const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

const SCRIPT = String.raw`
import json, struct, sys, warnings
warnings.simplefilter('ignore')
import numpy as np
d = sys.argv[1]
out = {}
for name in ['a2d', 'a1d', 'h2d', 'i1d']:
    a = np.load(f'{d}/{name}.npy')
    out[name] = {'dtype': str(a.dtype), 'shape': list(a.shape), 'values': a.astype(np.float64).ravel().tolist(), 'c': bool(a.flags['C_CONTIGUOUS'])}
x = np.fromfile(f'{d}/x.f32', dtype='<f4')
out['half_bits'] = x.astype(np.float16).view(np.uint16).tolist()
raw = open(f'{d}/t.safetensors', 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n])
t = header['W']
b, e = t['data_offsets']
w = np.frombuffer(raw[8 + n + b: 8 + n + e], dtype='<f2').reshape(t['shape'])
out['st'] = {'shape': list(w.shape), 'values': w.astype(np.float64).ravel().tolist(), 'meta': header['__metadata__']}
print(json.dumps(out))
`;

describe.skipIf(!hasNumpy)('NumPy reads what we write', () => {
  const dir = tmpDir();
  afterAll(() => rmTmp(dir));

  it('loads our .npy files and agrees with our float16 rounding', () => {
    const rng = new Rng(3);
    const a = rng.fillNormal(new Float32Array(15));
    writeNpyFile(path.join(dir, 'a2d.npy'), a, [3, 5], '<f4');
    writeNpyFile(path.join(dir, 'a1d.npy'), a, [15], '<f4');
    writeNpyFile(path.join(dir, 'h2d.npy'), a, [5, 3], '<f2');
    writeNpyFile(path.join(dir, 'i1d.npy'), Int32Array.from([1, -2, 3]), [3], '<i4');
    // Values across float16's normal, subnormal and overflow ranges, plus exact ties.
    const x = new Float32Array(4000);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal() * 2 ** Math.floor(rng.next() * 46 - 30);
    x.set([65520, 65519, 2 ** -25, 3 * 2 ** -25, 1 + 2 ** -11, 1 + 3 * 2 ** -11, -0], 0);
    fs.writeFileSync(path.join(dir, 'x.f32'), new Uint8Array(x.buffer));
    writeSafetensorsFile(path.join(dir, 't.safetensors'), { W: { dtype: 'F16', shape: [3, 5], data: a } }, { k: 'v' });

    const r = spawnSync('python3', ['-c', SCRIPT, dir], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, { dtype: string; shape: number[]; values: number[]; c: boolean }> & {
      half_bits: number[];
      st: { shape: number[]; values: number[]; meta: Record<string, string> };
    };
    expect(out['a2d']).toEqual({ dtype: 'float32', shape: [3, 5], values: Array.from(a), c: true });
    expect(out['a1d']!.shape).toEqual([15]);
    expect(out['h2d']!.dtype).toBe('float16');
    expect(out['i1d']).toMatchObject({ dtype: 'int32', values: [1, -2, 3] });
    expect(out.half_bits).toEqual(Array.from(toFloat16Array(x)));
    expect(out['h2d']!.values).toEqual(out.st.values);
    expect(out.st.shape).toEqual([3, 5]);
    expect(out.st.meta).toEqual({ k: 'v' });
  });
});
