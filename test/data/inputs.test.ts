import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveInputs, segmentRegExp } from '../../src/data/inputs.js';
import { DataError } from '../../src/errors.js';
import { tempDir } from './arrow-fixture.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const touch = (rel: string) => {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), '');
  return path.join(dir, rel);
};

describe('resolveInputs', () => {
  const files = ['b.arrow', 'a.ipc', 'c.feather', 'd.arrows', 'notes.txt', 'sub/e.arrow', 'sub/deep/f.arrow', 'sub/deep/g.json'].map(touch);

  it('expands a directory to its Arrow files sorted by name (not recursive)', () => {
    expect(resolveInputs([dir]).map((f) => path.basename(f))).toEqual(['a.ipc', 'b.arrow', 'c.feather', 'd.arrows']);
  });

  it('expands *, ? and ** globs, keeps files as given, drops duplicates', () => {
    expect(resolveInputs([path.join(dir, '*.arrow')]).map((f) => path.basename(f))).toEqual(['b.arrow']);
    expect(resolveInputs([path.join(dir, '?.arrow*')]).map((f) => path.basename(f))).toEqual(['b.arrow', 'd.arrows']);
    expect(resolveInputs([path.join(dir, '**', '*.arrow')]).map((f) => path.relative(dir, f))).toEqual(['b.arrow', 'sub/deep/f.arrow', 'sub/e.arrow']);
    expect(resolveInputs([files[0]!, path.join(dir, '*.arrow'), files[4]!])).toEqual([files[0], files[4]]);
  });

  it('names the pattern or path that matched nothing', () => {
    expect(() => resolveInputs([path.join(dir, '*.parquet')])).toThrow(DataError);
    expect(() => resolveInputs([path.join(dir, '*.parquet')])).toThrow(/no files match '.*\*\.parquet'/);
    expect(() => resolveInputs([path.join(dir, 'missing.arrow')])).toThrow(/no such file or directory: '.*missing\.arrow'/);
    fs.mkdirSync(path.join(dir, 'empty'));
    expect(() => resolveInputs([path.join(dir, 'empty')])).toThrow(/holds no Arrow files/);
  });

  it('segment patterns escape regex characters', () => {
    expect(segmentRegExp('a+b(1).arrow').test('a+b(1).arrow')).toBe(true);
    expect(segmentRegExp('a.arrow').test('aXarrow')).toBe(false);
  });
});
