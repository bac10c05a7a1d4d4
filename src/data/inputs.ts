import fs from 'node:fs';
import path from 'node:path';
import { DataError } from '../errors.js';

/**
 * Turn input specs into a list of files: a file, a directory (its Arrow files, sorted by
 * name), or a glob with `*`, `?` and `**` (Node 20 has no fs.globSync). Order: the specs'
 * order, each expanded in sorted order; duplicates dropped.
 */

export const ARROW_EXTENSIONS = ['.arrow', '.arrows', '.feather', '.ipc'];

function hasGlob(s: string): boolean {
  return /[*?]/.test(s);
}

/** A regular expression for one path segment of a glob (`*` and `?` stay within the segment). */
export function segmentRegExp(segment: string): RegExp {
  let re = '';
  for (const ch of segment) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function listDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch {
    return [];
  }
}

function isDir(p: string, e?: fs.Dirent): boolean {
  if (e && !e.isSymbolicLink()) return e.isDirectory();
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function walk(dir: string, segments: string[], out: string[]): void {
  if (segments.length === 0) return;
  const [seg, ...rest] = segments as [string, ...string[]];
  if (seg === '**') {
    walk(dir, rest, out);
    for (const e of listDir(dir)) {
      if (!e.name.startsWith('.') && isDir(path.join(dir, e.name), e)) walk(path.join(dir, e.name), segments, out);
    }
    return;
  }
  if (!hasGlob(seg)) {
    const p = path.join(dir, seg);
    if (rest.length === 0) {
      if (fs.existsSync(p) && !isDir(p)) out.push(p);
    } else if (isDir(p)) walk(p, rest, out);
    return;
  }
  const re = segmentRegExp(seg);
  for (const e of listDir(dir)) {
    if (!re.test(e.name) || (e.name.startsWith('.') && !seg.startsWith('.'))) continue;
    const p = path.join(dir, e.name);
    if (rest.length === 0) {
      if (!isDir(p, e)) out.push(p);
    } else if (isDir(p, e)) walk(p, rest, out);
  }
}

/** Files matched by a glob pattern, sorted. */
export function expandGlob(pattern: string): string[] {
  const parts = pattern.split(/[\\/]+/);
  const absolute = path.isAbsolute(pattern);
  const firstGlob = parts.findIndex(hasGlob);
  const baseParts = parts.slice(0, firstGlob);
  const base = absolute ? path.sep + path.join(...baseParts.filter(Boolean)) : baseParts.length ? path.join(...baseParts) : '.';
  const out: string[] = [];
  walk(base, parts.slice(firstGlob), out);
  const rel = !absolute && baseParts.length === 0;
  return [...new Set(out.map((p) => (rel ? path.normalize(p) : p)))].sort();
}

export function resolveInputs(patterns: string[]): string[] {
  if (patterns.length === 0) throw new DataError('no input files given.', 'Pass Arrow files, directories or globs (config data.train).');
  const out: string[] = [];
  for (const pattern of patterns) {
    let found: string[];
    if (hasGlob(pattern)) {
      found = expandGlob(pattern);
      if (found.length === 0) throw new DataError(`no files match '${pattern}'.`, 'Check the pattern (supported: *, ?, **) and the working directory.');
    } else if (isDir(pattern)) {
      found = listDir(pattern)
        .filter((e) => !isDir(path.join(pattern, e.name), e) && ARROW_EXTENSIONS.includes(path.extname(e.name).toLowerCase()))
        .map((e) => path.join(pattern, e.name));
      if (found.length === 0) {
        throw new DataError(`directory '${pattern}' holds no Arrow files (${ARROW_EXTENSIONS.join(' ')}).`, 'Point at the files themselves or use a glob.');
      }
    } else if (fs.existsSync(pattern)) {
      found = [pattern];
    } else {
      throw new DataError(`no such file or directory: '${pattern}'.`, 'Check the path (relative paths in a config resolve against the config file).');
    }
    out.push(...found);
  }
  return [...new Set(out)];
}
