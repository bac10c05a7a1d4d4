import { describe, it, expect } from 'vitest';
import { gridPoints, parseGridAxis, workersPerJobSet } from '../../src/sweep/grid.js';
import { formatSweepTable, sweepCsv, type SweepRow } from '../../src/sweep/table.js';
import { ConfigError } from '../../src/errors.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { groupPoints, readGridFile } from '../../src/sweep/grid-file.js';
import { loadConfig } from '../../src/config/load.js';

describe('grid', () => {
  it('parses axes and expands the product, first axis slowest', () => {
    const pts = gridPoints([parseGridAxis('sae.l1=1e-3,3e-3'), parseGridAxis('sae.expansion=8,16,32')]);
    expect(pts.map((p) => p.name)).toEqual([
      'l1-1e-3_expansion-8', 'l1-1e-3_expansion-16', 'l1-1e-3_expansion-32',
      'l1-3e-3_expansion-8', 'l1-3e-3_expansion-16', 'l1-3e-3_expansion-32',
    ]);
    expect(pts[4]!.sets).toEqual(['sae.l1=3e-3', 'sae.expansion=16']);
    expect(pts[4]!.params).toEqual({ 'sae.l1': '3e-3', 'sae.expansion': '16' });
  });

  it('uses the full key when two axes share a last segment, and makes names folder-safe', () => {
    const pts = gridPoints([parseGridAxis('train.seed=1'), parseGridAxis('a.seed=x/y')]);
    expect(pts[0]!.name).toBe('train.seed-1_a.seed-x_y');
  });

  it('rejects malformed axes with a ConfigError', () => {
    for (const bad of ['l1=1', 'sae.l1', 'sae.l1=', 'sae.l1=1,,2', 'sae.l1=1,1']) {
      expect(() => parseGridAxis(bad)).toThrow(ConfigError);
    }
    expect(() => gridPoints([parseGridAxis('sae.l1=1'), parseGridAxis('sae.l1=2')])).toThrow(/twice/);
  });
});

describe('grid files (a union of grids)', () => {
  const write = (content: unknown) => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sae-grid-')), 'grid.json');
    fs.writeFileSync(f, typeof content === 'string' ? content : JSON.stringify(content));
    return f;
  };

  it('expands each group with its own axes and overrides, names over all keys, common axes last', () => {
    const groups = readGridFile(write({
      groups: [
        { grid: { 'sae.architecture': ['relu'], 'sae.l1': [2, 0.5] } },
        { set: { 'sae.l1': null, 'resample.enabled': false }, grid: { 'sae.architecture': ['topk'], 'sae.k': [8] } },
      ],
    }));
    const { points, keys } = groupPoints(groups, [parseGridAxis('train.seed=1,2')]);
    expect(keys).toEqual(['sae.architecture', 'sae.l1', 'train.seed', 'sae.k']);
    expect(points.map((p) => p.name)).toEqual([
      'architecture-relu_l1-2_seed-1', 'architecture-relu_l1-2_seed-2', 'architecture-relu_l1-0.5_seed-1', 'architecture-relu_l1-0.5_seed-2',
      'architecture-topk_k-8_seed-1', 'architecture-topk_k-8_seed-2',
    ]);
    expect(points[4]!.sets).toEqual(['sae.l1=null', 'resample.enabled=false', 'sae.architecture=topk', 'sae.k=8', 'train.seed=1']);
    expect(points[4]!.params).toEqual({ 'sae.architecture': 'topk', 'sae.k': '8', 'train.seed': '1' });
  });

  it('labels with the full key when keys of different groups share a last segment', () => {
    const { points } = groupPoints(readGridFile(write({ groups: [{ grid: { 'train.seed': [1] } }, { grid: { 'data.seed': [1] } }] })), []);
    expect(points.map((p) => p.name)).toEqual(['train.seed-1', 'data.seed-1']);
  });

  it('refuses a file that is not a grid file, and groups that name the same run, with a ConfigError', () => {
    expect(() => readGridFile(write('{ nope'))).toThrow(/--grid-file .*: cannot read it as JSON/);
    expect(() => readGridFile(write({ groups: [] }))).toThrow(/groups: /);
    expect(() => readGridFile(write({ groups: [{ grid: {} }] }))).toThrow(/groups\.0\.grid: a group needs at least one axis/);
    expect(() => readGridFile(write({ groups: [{ grid: { l1: [1] } }] }))).toThrow(ConfigError);
    expect(() => readGridFile(write({ groups: [{ grid: { 'sae.k': [1] }, extra: 1 }] }))).toThrow(ConfigError);
    const twice = readGridFile(write({ groups: [{ grid: { 'sae.k': [1] } }, { set: { 'sae.l1': null }, grid: { 'sae.k': [1] } }] }));
    expect(() => groupPoints(twice, [])).toThrow(/two groups both have the run 'k-1'/);
  });

  it('the shipped architecture grids are valid grid files, every point a valid config over its base', () => {
    for (const [grid, base] of [
      ['configs/sweeps/stories260k-architectures.json', 'configs/stories260k.json'],
      ['configs/sweeps/synthetic-architectures.json', 'configs/synthetic-architectures.json'],
    ] as const) {
      const { points } = groupPoints(readGridFile(grid), []);
      expect(new Set(points.map((p) => p.params['sae.architecture']))).toEqual(new Set(['relu', 'topk', 'batchtopk', 'jumprelu']));
      for (const p of points) expect(() => loadConfig(base, p.sets), `${grid}: ${p.name}`).not.toThrow();
    }
  });
});

describe('sweep table', () => {
  const rows: SweepRow[] = [
    { run: 'l1-1e-3', status: 'finished', params: { 'sae.l1': '1e-3' }, l1: 0.001, width: 64, expansion: 8, l0: 12.345, explainedVariance: 0.98765, deadFraction: 0, mse: 0.0123, mmcs: null },
    { run: 'l1-1e-2', status: 'failed', params: { 'sae.l1': '1e-2' }, l1: null, width: null, expansion: null, l0: null, explainedVariance: null, deadFraction: null, mse: null, mmcs: null, error: 'boom, "quoted"' },
  ];
  it('writes CSV with swept keys and full-precision metrics', () => {
    const csv = sweepCsv(rows, ['sae.l1']).trim().split('\n');
    expect(csv[0]).toBe('run,status,sae.l1,l1,width,L0,explained_var,dead_frac,mse,mmcs');
    expect(csv[1]).toBe('l1-1e-3,finished,1e-3,0.001,64,12.345,0.98765,0,0.0123,');
    expect(csv[2]).toBe('l1-1e-2,failed,1e-2,,,,,,,');
  });
  it('formats an aligned table and leaves out mmcs when no run has it', () => {
    const t = formatSweepTable(rows).split('\n');
    expect(t[0]).toMatch(/^run\s+l1\s+width\s+L0\s+explained_var\s+dead_frac\s+mse$/);
    expect(t[1]).toContain('0.9877');
    expect(t[2]).toContain('failed');
    expect(new Set(t.map((l) => l.length)).size).toBe(1);
  });
});

describe('workersPerJobSet', () => {
  const grid = gridPoints([parseGridAxis('sae.l1=0.1,0.2')]);
  it('splits the cores between concurrent runs when train.workers is auto', () => {
    expect(workersPerJobSet(8, 2, 'auto', grid)).toEqual(['train.workers=4']);
    expect(workersPerJobSet(2, 3, 'auto', grid)).toEqual(['train.workers=1']);
  });
  it('leaves one run at a time, an explicit count, or a grid over workers alone', () => {
    expect(workersPerJobSet(8, 1, 'auto', grid)).toEqual([]);
    expect(workersPerJobSet(8, 2, 3, grid)).toEqual([]);
    expect(workersPerJobSet(8, 2, 'auto', gridPoints([parseGridAxis('train.workers=1,2')]))).toEqual([]);
  });
});
