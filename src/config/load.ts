import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { checkArchitectureFields } from './architecture-fields.js';
import { ConfigSchema, type Config } from './schema.js';

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the config file, or null when built in code. */
  file: string | null;
}

/** Value at a dotted/array path inside a plain object, or undefined. */
function valueAt(obj: unknown, p: PropertyKey[]): unknown {
  let cur: unknown = obj;
  for (const k of p) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + '...' : s;
}

/** zod issues -> one line per path: `train.lr: Too small: expected number to be >0, got -1`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string[] {
  return issues.map((iss) => {
    const where = iss.path.length ? iss.path.map(String).join('.') : '(top level)';
    if (iss.code === 'unrecognized_keys') {
      const keys = iss.keys.map((k) => (where === '(top level)' ? k : `${where}.${k}`));
      return `${keys.join(', ')}: unknown key${keys.length > 1 ? 's' : ''} (check the spelling against configs/schema.json)`;
    }
    const got = valueAt(input, iss.path);
    const msg = iss.message.replace(/^Invalid input: /, '');
    return `${where}: ${msg}, got ${show(got)}`;
  });
}

/** Parse `a.b.c=value`; value is JSON if it parses as JSON, else a plain string. */
export function parseSet(expr: string): { path: string[]; value: unknown } {
  const eq = expr.indexOf('=');
  if (eq <= 0) {
    throw new ConfigError(`--set '${expr}': expected path=value, e.g. --set train.lr=3e-4`);
  }
  const key = expr.slice(0, eq).trim();
  const raw = expr.slice(eq + 1);
  const parts = key.split('.');
  if (parts.some((p) => p === '' || p === '__proto__' || p === 'constructor' || p === 'prototype')) {
    throw new ConfigError(`--set '${expr}': '${key}' is not a valid config path`);
  }
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    /* a bare string */
  }
  return { path: parts, value };
}

/** Apply overrides to a plain object (copying), creating intermediate sections. */
export function applySets(raw: Record<string, unknown>, sets: string[]): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const expr of sets) {
    const { path: p, value } = parseSet(expr);
    let cur: Record<string, unknown> = out;
    for (const k of p.slice(0, -1)) {
      const next = cur[k];
      if (next === undefined) cur[k] = {};
      else if (next === null || typeof next !== 'object' || Array.isArray(next)) {
        throw new ConfigError(`--set '${expr}': '${k}' is not a section (it holds ${show(next)})`);
      }
      cur = cur[k] as Record<string, unknown>;
    }
    // null unsets an optional field (e.g. --set data.eval=null: hold out data.evalFraction instead).
    if (value === null) delete cur[p[p.length - 1]!];
    else cur[p[p.length - 1]!] = value;
  }
  return out;
}

/** Config fields holding paths. */
const PATH_FIELDS = ['data.train', 'data.eval', 'output.dir', 'eval.model', 'eval.data'];

/**
 * Paths typed on the command line mean what they mean in the shell: relative to the working
 * directory, not to the config file's folder (which is what paths written in the file resolve
 * against). Makes the --set path values absolute; the file's own stay for validateConfig.
 */
export function resolveSetPaths(raw: Record<string, unknown>, sets: string[], cwd: string): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const expr of sets) {
    const { path: p } = parseSet(expr);
    const key = p.join('.');
    if (!PATH_FIELDS.includes(key)) continue;
    const section = out[p[0]!] as Record<string, unknown> | undefined;
    const v = section?.[p[1]!];
    const abs = (x: unknown) => (typeof x === 'string' && x !== '' ? path.resolve(cwd, x) : x);
    if (section && v !== undefined) section[p[1]!] = Array.isArray(v) ? v.map(abs) : abs(v);
  }
  return out;
}

/**
 * Validate a raw config object. Relative data/output paths resolve against baseDir.
 * Throws ConfigError listing every problem, one line per path.
 */
export function validateConfig(raw: unknown, baseDir: string, source = 'config'): Config {
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = formatIssues(parsed.error.issues, raw);
    throw new ConfigError(
      `${source} is invalid (${lines.length} problem${lines.length > 1 ? 's' : ''}):\n  ${lines.join('\n  ')}`,
      'Fix the fields above; every field is documented in configs/schema.json and the README.',
    );
  }
  const c = parsed.data;
  checkArchitectureFields(c);
  const abs = (p: string) => (isGlobOrAbs(p) && path.isAbsolute(p) ? p : path.resolve(baseDir, p));
  c.data.train = c.data.train.map(abs);
  if (c.data.eval) c.data.eval = c.data.eval.map(abs);
  c.output.dir = abs(c.output.dir);
  if (c.eval.model) c.eval.model = abs(c.eval.model);
  if (c.eval.data) c.eval.data = abs(c.eval.data);
  return c;
}

function isGlobOrAbs(p: string): boolean {
  return path.isAbsolute(p);
}

/** Read a JSON config file, apply `--set` overrides, validate. Config files are data, never executed. */
export function loadConfig(file: string, sets: string[] = []): LoadedConfig {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `${file}: cannot read the config file (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code})`,
      'Pass the path of a JSON config, e.g. --config configs/quickstart.json.',
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(
      `${file}: not valid JSON (${(err as Error).message})`,
      'Config files are JSON: check for trailing commas, comments or unquoted keys.',
    );
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`${file}: expected a JSON object at the top level, found ${Array.isArray(raw) ? 'an array' : typeof raw}`);
  }
  const withSets = resolveSetPaths(applySets(raw as Record<string, unknown>, sets), sets, process.cwd());
  const config = validateConfig(withSets, path.dirname(abs), sets.length ? `${file} (with --set overrides)` : file);
  return { config, file: abs };
}

/** The JSON schema of the config file format (committed as configs/schema.json). */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' });
}
