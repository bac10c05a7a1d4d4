import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunError } from '../../src/errors.js';
import { appendJsonLine, fsError, readJsonLines, rewriteJsonLines, writeFileAtomic, writeJsonAtomic } from '../../src/io/atomic.js';
import { rmTmp, tmpDir } from '../helpers/cli.js';

describe('writeFileAtomic', () => {
  const dir = tmpDir();
  afterAll(() => rmTmp(dir));

  it('writes new files and replaces existing ones, leaving no temporary file', () => {
    const f = path.join(dir, 'a.bin');
    writeFileAtomic(f, Uint8Array.from([1, 2, 3]));
    expect([...fs.readFileSync(f)]).toEqual([1, 2, 3]);
    writeFileAtomic(f, 'hello');
    expect(fs.readFileSync(f, 'utf8')).toBe('hello');
    writeJsonAtomic(path.join(dir, 'b.json'), { x: 1 });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'b.json'), 'utf8'))).toEqual({ x: 1 });
    expect(fs.readdirSync(dir).sort()).toEqual(['a.bin', 'b.json']);
  });

  it('throws a RunError naming the path and leaves nothing behind when the write fails', () => {
    // Tests run as root, so permissions cannot force a failure; a parent that is a file can.
    const blocker = path.join(dir, 'blocker');
    fs.writeFileSync(blocker, 'x');
    const target = path.join(blocker, 'out.json');
    let err: unknown;
    try {
      writeFileAtomic(target, 'data');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RunError);
    expect((err as RunError).message).toContain(target);
    expect((err as RunError).message).toMatch(/not a folder/);
    expect((err as RunError).hint).toBeTruthy();
    expect(fs.readdirSync(dir).filter((n) => n.includes('partial'))).toEqual([]);
  });

  it('removes its temporary file when the final rename fails', () => {
    // Renaming a file over a non-empty directory fails after the temporary file was written.
    const target = path.join(dir, 'occupied');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'inside'), 'x');
    expect(() => writeFileAtomic(target, 'data')).toThrow(RunError);
    expect(fs.readdirSync(dir).filter((n) => n.includes('partial'))).toEqual([]);
    expect(fs.readdirSync(target)).toEqual(['inside']);
  });

  it('maps OS reasons to words a person can act on', () => {
    const make = (code: string): Error => Object.assign(new Error(code), { code });
    expect(fsError(make('ENOSPC'), 'runs/x/a', 'write').message).toBe('runs/x/a: cannot write: disk full.');
    expect(fsError(make('EACCES'), 'runs/x/a', 'write').message).toMatch(/not writable/);
    expect(fsError(make('EROFS'), 'runs/x/a', 'write').message).toMatch(/not writable/);
    expect(fsError(make('ENOSPC'), 'runs/x/a', 'write').hint).toMatch(/Free some disk space/);
  });
});

describe('JSON lines', () => {
  const dir = tmpDir();
  afterAll(() => rmTmp(dir));

  it('appends records and reads them back', () => {
    const f = path.join(dir, 'm.jsonl');
    expect(readJsonLines(f)).toEqual({ records: [], truncated: false, badLines: [] });
    appendJsonLine(f, { step: 1 });
    appendJsonLine(f, { step: 2, loss: 0.5 });
    expect(fs.readFileSync(f, 'utf8')).toBe('{"step":1}\n{"step":2,"loss":0.5}\n');
    expect(readJsonLines(f)).toEqual({ records: [{ step: 1 }, { step: 2, loss: 0.5 }], truncated: false, badLines: [] });
  });

  it('tolerates a truncated last line and appends after it on a fresh line', () => {
    const f = path.join(dir, 't.jsonl');
    fs.writeFileSync(f, '{"step":1}\n{"step":2}\n{"step":3,"lo');
    const r = readJsonLines<{ step: number }>(f);
    expect(r.records.map((x) => x.step)).toEqual([1, 2]);
    expect(r.truncated).toBe(true);
    expect(r.badLines).toEqual([3]);
    appendJsonLine(f, { step: 3 });
    const r2 = readJsonLines<{ step: number }>(f);
    expect(r2.records.map((x) => x.step)).toEqual([1, 2, 3]);
    expect(r2.truncated).toBe(false);
    expect(r2.badLines).toEqual([3]);
  });

  it('rewrites a log with exactly the given records', () => {
    const f = path.join(dir, 'r.jsonl');
    for (const step of [1, 2, 3, 4]) appendJsonLine(f, { step });
    const keep = readJsonLines<{ step: number }>(f).records.filter((x) => x.step <= 2);
    rewriteJsonLines(f, keep);
    expect(fs.readFileSync(f, 'utf8')).toBe('{"step":1}\n{"step":2}\n');
  });
});
