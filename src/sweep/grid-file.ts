import fs from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { gridPoints, parseGridAxis, type GridAxis, type GridPoint } from './grid.js';

/**
 * A grid file (`sae sweep --grid-file`): a union of grids, each with its own axes and fixed
 * overrides, for settings that exist only with another one — an architecture and its sparsity
 * knob (relu: sae.l1; topk / batchtopk: sae.k, with sae.l1 unset):
 *   { "groups": [
 *       { "grid": { "sae.architecture": ["relu"], "sae.l1": [2, 1, 0.5] } },
 *       { "set": { "sae.l1": null }, "grid": { "sae.architecture": ["topk", "batchtopk"], "sae.k": [8, 16, 32] } } ] }
 * Values are JSON scalars, passed to each run as `--set key=value` (null as `null`). `--grid`
 * axes given beside the file combine with every group.
 */
const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const GridFileSchema = z
  .object({
    description: z.string().optional(),
    groups: z
      .array(
        z
          .object({
            set: z.record(z.string(), Scalar).default({}),
            grid: z.record(z.string(), z.array(Scalar).min(1)).refine((g) => Object.keys(g).length > 0, 'a group needs at least one axis'),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

/** One group of a grid file: its axes, and the overrides every one of its runs gets. */
export interface GridGroup {
  axes: GridAxis[];
  sets: string[];
}

const text = (v: string | number | boolean | null): string => (v === null ? 'null' : String(v));

/** Read and check a grid file; ConfigError naming the file and the field when it is not one. */
export function readGridFile(file: string): GridGroup[] {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`--grid-file ${file}: cannot read it as JSON (${(err as Error).message.split('\n')[0]})`, 'Give a JSON file such as configs/sweeps/stories260k-architectures.json.');
  }
  const parsed = GridFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(
      `--grid-file ${file}: ${issue.path.length ? issue.path.join('.') : '(top level)'}: ${issue.message}`,
      'Expected { "groups": [ { "grid": { "section.field": [values] }, "set": { "section.field": value } } ] } (see README, "Sweeps").',
    );
  }
  return parsed.data.groups.map((g) => ({
    axes: Object.entries(g.grid).map(([key, values]) => parseGridAxis(`${key}=${values.map(text).join(',')}`)),
    sets: Object.entries(g.set).map(([key, v]) => `${key}=${text(v)}`),
  }));
}

/**
 * The points of every group, in file order (each group's axes, then the common ones), named over
 * all their keys together; a group's fixed overrides come before its grid values. ConfigError when
 * two points of different groups would share a run name.
 */
export function groupPoints(groups: GridGroup[], common: GridAxis[]): { points: GridPoint[]; keys: string[] } {
  const keys: string[] = [];
  for (const g of groups) for (const a of [...g.axes, ...common]) if (!keys.includes(a.key)) keys.push(a.key);
  const points = groups.flatMap((g) => gridPoints([...g.axes, ...common], keys).map((p) => ({ ...p, sets: [...g.sets, ...p.sets] })));
  const seen = new Set<string>();
  for (const p of points) {
    if (seen.has(p.name)) throw new ConfigError(`--grid-file: two groups both have the run '${p.name}'`, 'Give each group a value the others do not have (e.g. its sae.architecture).');
    seen.add(p.name);
  }
  return { points, keys };
}
