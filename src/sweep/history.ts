import fs from 'node:fs';
import path from 'node:path';
import type { GridPoint } from './grid.js';

/** What an earlier sweep.json says about its runs. */
interface PreviousSweep {
  keys?: unknown;
  rows?: { run?: unknown; params?: unknown }[];
}

/**
 * The grid points of earlier sweeps into the same folder that this one does not repeat and whose
 * run folders still exist, with the swept keys of all of them (this sweep's first): re-running
 * with another grid adds rows to the table instead of dropping the earlier ones.
 */
export function earlierPoints(dir: string, current: GridPoint[], keys: string[]): { points: GridPoint[]; keys: string[] } {
  let prev: PreviousSweep;
  try {
    prev = JSON.parse(fs.readFileSync(path.join(dir, 'sweep.json'), 'utf8')) as PreviousSweep;
  } catch {
    return { points: [], keys };
  }
  const names = new Set(current.map((p) => p.name));
  const allKeys = [...keys];
  for (const k of Array.isArray(prev.keys) ? prev.keys : []) if (typeof k === 'string' && !allKeys.includes(k)) allKeys.push(k);
  const points: GridPoint[] = [];
  for (const row of Array.isArray(prev.rows) ? prev.rows : []) {
    if (typeof row.run !== 'string' || names.has(row.run) || !fs.existsSync(path.join(dir, row.run))) continue;
    const params = row.params !== null && typeof row.params === 'object' ? (row.params as Record<string, string>) : {};
    points.push({ name: row.run, params, sets: [] });
    names.add(row.run);
  }
  return { points, keys: allKeys };
}
