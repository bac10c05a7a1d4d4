import { ConfigError } from '../errors.js';

/** One swept config field and the values it takes (as written: each becomes `--set key=value`). */
export interface GridAxis {
  key: string;
  values: string[];
}

/** One point of the grid: a run. */
export interface GridPoint {
  /** Run directory name inside the sweep folder. */
  name: string;
  /** key -> value text, in axis order. */
  params: Record<string, string>;
  /** The overrides for `sae train --set`. */
  sets: string[];
}

const KEY = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+$/;

/** Parse `sae.l1=1e-3,3e-3,1e-2`. Throws ConfigError naming the bad flag. */
export function parseGridAxis(expr: string): GridAxis {
  const eq = expr.indexOf('=');
  const key = eq > 0 ? expr.slice(0, eq).trim() : '';
  const values = eq > 0 ? expr.slice(eq + 1).split(',').map((v) => v.trim()) : [];
  if (!KEY.test(key) || values.length === 0 || values.some((v) => v === '')) {
    throw new ConfigError(
      `--grid '${expr}': expected section.field=v1,v2,... with no empty values`,
      'Example: --grid sae.l1=1e-3,3e-3,1e-2 --grid sae.expansion=8,16',
    );
  }
  if (new Set(values).size !== values.length) throw new ConfigError(`--grid '${expr}': a value is listed twice`);
  return { key, values };
}

/** Characters safe in a folder name on every platform. */
function safe(text: string): string {
  return text.replace(/[^A-Za-z0-9.+-]/g, '_');
}

/**
 * Every combination of the axes (the first axis varies slowest), each with a readable, unique
 * run name such as `l1-0.001_expansion-8` (the last key segment, or the full key if two axes
 * share a last segment, among `allKeys` when given).
 */
export function gridPoints(axes: GridAxis[], allKeys?: string[]): GridPoint[] {
  const keys = axes.map((a) => a.key);
  if (new Set(keys).size !== keys.length) throw new ConfigError(`--grid: the key '${keys.find((k, i) => keys.indexOf(k) !== i)}' is given twice`, 'Give each swept field once, with all its values.');
  // Labels are made unique over allKeys (every group of a grid file), not only these axes.
  const named = allKeys ?? keys;
  const lastOf = (k: string) => k.slice(k.lastIndexOf('.') + 1);
  const label = keys.map((k) => (named.filter((o) => lastOf(o) === lastOf(k)).length > 1 ? k : lastOf(k)));
  let points: GridPoint[] = [{ name: '', params: {}, sets: [] }];
  axes.forEach((axis, i) => {
    const next: GridPoint[] = [];
    for (const p of points) {
      for (const v of axis.values) {
        next.push({
          name: p.name ? `${p.name}_${safe(label[i]!)}-${safe(v)}` : `${safe(label[i]!)}-${safe(v)}`,
          params: { ...p.params, [axis.key]: v },
          sets: [...p.sets, `${axis.key}=${v}`],
        });
      }
    }
    points = next;
  });
  const names = points.map((p) => p.name);
  if (new Set(names).size !== names.length) {
    throw new ConfigError('--grid: two grid points map to the same run name (values differing only in punctuation?)', 'Write the values so they differ in letters or digits.');
  }
  return axes.length ? points : [];
}

/**
 * `--set train.workers=N` for each of `jobs` concurrent runs, so that together they use the cores
 * once (each run's 'auto' would take them all): only when the base config leaves train.workers at
 * 'auto' and no grid axis sets it. [] otherwise.
 */
export function workersPerJobSet(cores: number, jobs: number, configured: number | 'auto', grid: GridPoint[]): string[] {
  if (jobs <= 1 || configured !== 'auto') return [];
  if (grid.some((p) => p.sets.some((s) => s.startsWith('train.workers=')))) return [];
  return [`train.workers=${Math.max(1, Math.floor(cores / jobs))}`];
}
