import fs from 'node:fs';
import path from 'node:path';
import { RunError } from '../errors.js';

let tempCounter = 0;

/**
 * A fresh name beside `target` (same directory, so the final rename stays on one file system).
 * Hidden and tagged `.partial-` so a crash leaves something a person recognises and can delete.
 */
export function tempPathBeside(target: string): string {
  tempCounter += 1;
  const dir = path.dirname(target);
  const base = path.basename(target);
  return path.join(dir, `.${base}.partial-${process.pid}-${Date.now().toString(36)}-${tempCounter}`);
}

/** Turn an fs error on `file` into a RunError that says what went wrong there and what to do. */
export function fsError(err: unknown, file: string, action: string): RunError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason = (err as Error | undefined)?.message ?? String(err);
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new RunError(`${file}: cannot ${action}: disk full.`, 'Free some disk space or write somewhere else (e.g. --out DIR).');
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new RunError(`${file}: cannot ${action}: not writable (${code}).`, 'Check the permissions of the folder, or write somewhere else (e.g. --out DIR).');
    case 'ENOTDIR':
      return new RunError(`${file}: cannot ${action}: a parent of this path is a file, not a folder.`, 'Choose a path whose parent folders are folders.');
    case 'ENOENT':
      return new RunError(`${file}: cannot ${action}: the folder does not exist.`, 'Create the folder first or choose another path.');
    case 'EISDIR':
      return new RunError(`${file}: cannot ${action}: it is a folder.`, 'Choose a file path, or remove the folder.');
    default:
      return new RunError(`${file}: cannot ${action}: ${reason}`, 'Check that the path is writable and the disk is healthy, then try again.');
  }
}

/** fsync a directory so a rename inside it survives a crash; not every platform allows it. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Directory fsync is unsupported on some platforms (Windows: EISDIR/EPERM); the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function removeQuietly(p: string): void {
  try {
    fs.rmSync(p, { force: true, recursive: true });
  } catch {
    // Best effort: the original error is the one worth reporting.
  }
}

/**
 * Write `data` to `file` so that a reader sees either the old content or the new, never a part:
 * write a temporary file in the same folder, fsync it, rename it over the target, fsync the folder.
 * On failure the temporary file is removed and a RunError names the path and the OS reason.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const tmp = tempPathBeside(file);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // already failing; the write error is the one to report
      }
    }
    removeQuietly(tmp);
    throw fsError(err, file, 'write');
  }
  fsyncDir(path.dirname(file));
}

/** The bytes of a file; an OS error becomes a RunError naming the file and the reason. */
export function readFileChecked(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw fsError(err, file, 'read');
  }
}

/** writeFileAtomic of pretty-printed JSON with a trailing newline. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Append one JSON record as a line. If the file ends in a partial line (an interrupted writer),
 * start on a fresh line so the new record stays readable.
 */
export function appendJsonLine(file: string, value: unknown): void {
  const line = JSON.stringify(value) + '\n';
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'a+');
    const size = fs.fstatSync(fd).size;
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    fs.writeSync(fd, prefix + line);
  } catch (err) {
    throw fsError(err, file, 'append to');
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export interface JsonLines<T> {
  records: T[];
  /** The last line was cut short or unreadable (an interrupted write); it was dropped. */
  truncated: boolean;
  /** 1-based numbers of every line that could not be parsed and was dropped. */
  badLines: number[];
}

/**
 * Read a JSON-lines log. Unparseable lines are dropped and reported rather than fatal: the
 * only writer is appendJsonLine, so a bad line can only come from an interrupted append.
 * A missing file reads as empty.
 */
export function readJsonLines<T>(file: string): JsonLines<T> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], truncated: false, badLines: [] };
    throw fsError(err, file, 'read');
  }
  const lines = text.split('\n');
  const records: T[] = [];
  const badLines: number[] = [];
  let lastContentLine = 0;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    lastContentLine = i + 1;
    try {
      records.push(JSON.parse(line) as T);
    } catch {
      badLines.push(i + 1);
    }
  });
  const truncated = badLines.length > 0 && badLines[badLines.length - 1] === lastContentLine;
  return { records, truncated, badLines };
}

/** Replace a JSON-lines file with exactly these records, atomically (e.g. to drop records past a resumed step). */
export function rewriteJsonLines(file: string, records: readonly unknown[]): void {
  writeFileAtomic(file, records.map((r) => JSON.stringify(r) + '\n').join(''));
}
