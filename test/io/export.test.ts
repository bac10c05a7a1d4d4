import fs from 'node:fs';
import path from 'node:path';
import { Bool, Float64, Int32, List, Field, tableFromIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, RunError } from '../../src/errors.js';
import { exportDictionary, EXPORT_FORMATS as ALL_FORMATS, formatRanges } from '../../src/io/export.js';

// sparsify holds TopK dictionaries only (this run is ReLU): test/io/sparsify.test.ts covers it.
const EXPORT_FORMATS = ALL_FORMATS.filter((f) => f !== 'sparsify');
import { rmTmp, tmpDir } from '../helpers/cli.js';
import { loadExport, parseNpy, parseSafetensors, reconstruct } from '../helpers/load-export.js';
import { maxAbs, maxAbsDiff, randomData, randomWeights } from '../helpers/tensors.js';
import { makeFakeRun } from './fake-run.js';

const D = 6;
const M = 20;

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('exportDictionary', () => {
  const root = tmpDir();
  const w = randomWeights(D, M, 11);
  // Varied decoder norms so --unit-decoder changes the weights.
  for (let i = 0; i < M; i++) for (let j = 0; j < D; j++) w.W_dec[i * D + j]! *= 0.5 + 0.1 * i;
  // features.arrow as the statistics writer makes it: an index column (rows shuffled), scalars, a nested column.
  const order = Int32Array.from({ length: M }, (_, i) => (i * 7) % M);
  const run = makeFakeRun(path.join(root, 'run'), w, {
    stats: [
      { name: 'index', kind: 'int32', values: order },
      { name: 'frequency', kind: 'float32', values: Float32Array.from(order, (i) => i / 100) },
      { name: 'dead', kind: 'arrow', vector: vectorFromArray(Array.from(order, (i) => i % 3 === 0), new Bool()) },
      { name: 'mean_activation', kind: 'arrow', vector: vectorFromArray(Array.from(order, (i) => (i === 5 ? null : i * 1.5)), new Float64()) },
      {
        name: 'top_examples',
        kind: 'arrow',
        vector: vectorFromArray(Array.from(order, (i) => [i, i + 1]), new List(new Field('item', new Int32(), true))),
      },
    ],
  });
  const x = randomData(30, D, 12);
  const xhat = reconstruct(w, x, 30);
  afterAll(() => rmTmp(root));
  afterEach(() => vi.restoreAllMocks());

  const leftovers = (): string[] => fs.readdirSync(root).filter((n) => n.includes('.partial-'));

  for (const format of EXPORT_FORMATS) {
    it(`exports ${format} that an independent reader loads back exactly`, () => {
      const out = path.join(root, `full.${format}`);
      const res = exportDictionary(run, { format, out });
      expect(res).toMatchObject({ format, out, dIn: D, dSae: M, sourceFeatures: M, dtype: 'float32', unitDecoder: false });
      expect(res.bytes).toBeGreaterThan(4 * (2 * D * M));
      const back = loadExport(out, format);
      expect(back).toEqual(w);
      expect(leftovers()).toEqual([]);
    });
  }

  it('lists the files of folder formats', () => {
    expect(exportDictionary(run, { format: 'npy', out: path.join(root, 'files.npy') }).files).toEqual([
      'W_dec.npy', 'W_enc.npy', 'b_dec.npy', 'b_enc.npy', 'log10_density.npy', 'meta.json',
    ]);
    expect(exportDictionary(run, { format: 'saelens', out: path.join(root, 'files.sl') }).files).toEqual([
      'cfg.json', 'sae_weights.safetensors', 'sparsity.safetensors',
    ]);
  });

  it('stores float16 tensors for saelens, safetensors and npy', () => {
    for (const format of ['saelens', 'safetensors', 'npy'] as const) {
      const out = path.join(root, `half.${format}`);
      exportDictionary(run, { format, out, dtype: 'float16' });
      const back = loadExport(out, format);
      expect(maxAbsDiff(back.W_enc, w.W_enc)).toBeLessThan(maxAbs(w.W_enc) * 2 ** -11 + 1e-7);
      expect(maxAbsDiff(back.W_dec, w.W_dec)).toBeLessThan(maxAbs(w.W_dec) * 2 ** -11 + 1e-7);
      expect(maxAbsDiff(reconstruct(back, x, 30), xhat)).toBeLessThan(0.02 * maxAbs(xhat));
    }
    const st = parseSafetensors(fs.readFileSync(path.join(root, 'half.safetensors')));
    expect(Object.values(st.tensors).map((t) => t.dtype)).toEqual(['F16', 'F16', 'F16', 'F16', 'F16']);
    expect(st.metadata).toMatchObject({ d_in: String(D), d_sae: String(M), dtype: 'float16', model_name: 'stories260k', hook_name: 'blocks.2.hook_resid_post', 'data.layer': '2' });
    expect(parseNpy(fs.readFileSync(path.join(root, 'half.npy', 'W_dec.npy'))).descr).toBe('<f2');
    const cfg = JSON.parse(fs.readFileSync(path.join(root, 'half.saelens', 'cfg.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg['dtype']).toBe('float16');
  });

  it('--unit-decoder leaves reconstructions unchanged in every format', () => {
    for (const format of EXPORT_FORMATS) {
      const out = path.join(root, `unit.${format}`);
      expect(exportDictionary(run, { format, out, unitDecoder: true }).unitDecoder).toBe(true);
      const back = loadExport(out, format);
      for (let i = 0; i < M; i++) {
        const row = back.W_dec.subarray(i * D, (i + 1) * D);
        expect(Math.hypot(...row)).toBeCloseTo(1, 5);
      }
      expect(maxAbsDiff(back.W_dec, w.W_dec)).toBeGreaterThan(0.1);
      expect(maxAbsDiff(reconstruct(back, x, 30), xhat)).toBeLessThan(1e-4 * Math.max(1, maxAbs(xhat)));
    }
  });

  it('--features exports a subset with its original indices and densities', () => {
    const sel = [0, 1, 2, 9, 15, 16];
    const res = exportDictionary(run, { format: 'safetensors', out: path.join(root, 'sub.safetensors'), features: '0-2,9,15-16' });
    expect(res.dSae).toBe(6);
    const st = parseSafetensors(fs.readFileSync(path.join(root, 'sub.safetensors')));
    expect(st.tensors['feature_indices']).toMatchObject({ dtype: 'I32', values: sel });
    expect(st.tensors['log10_density']!.shape).toEqual([6]);
    expect(st.metadata).toMatchObject({ features: '0-2,9,15-16', source_d_sae: String(M) });
    const back = loadExport(path.join(root, 'sub.safetensors'), 'safetensors');
    sel.forEach((f, j) => {
      expect(Array.from(back.W_dec.subarray(j * D, (j + 1) * D))).toEqual(Array.from(w.W_dec.subarray(f * D, (f + 1) * D)));
      expect(back.W_enc[2 * 6 + j]).toBe(w.W_enc[2 * M + f]);
      expect(back.b_enc[j]).toBe(w.b_enc[f]);
    });
    exportDictionary(run, { format: 'npy', out: path.join(root, 'sub.npy'), features: '3,4' });
    expect(parseNpy(fs.readFileSync(path.join(root, 'sub.npy', 'feature_indices.npy')))).toMatchObject({ descr: '<i4', values: [3, 4] });
  });

  it('joins the run statistics into arrow and json exports by feature index', () => {
    exportDictionary(run, { format: 'arrow', out: path.join(root, 'stats.arrow'), features: '3-6' });
    const t = tableFromIPC(fs.readFileSync(path.join(root, 'stats.arrow')));
    expect(t.schema.fields.map((f) => f.name)).toEqual(['index', 'decoder', 'encoder', 'b_enc', 'log10_density', 'frequency', 'dead', 'mean_activation']);
    expect([...t.getChild('index')!]).toEqual([3, 4, 5, 6]);
    expect([...t.getChild('frequency')!].map((v) => Math.round((v as number) * 100))).toEqual([3, 4, 5, 6]);
    expect([...t.getChild('dead')!]).toEqual([true, false, false, true]);
    expect([...t.getChild('mean_activation')!]).toEqual([4.5, 6, null, 9]);
    expect(t.schema.metadata.get('hook_name')).toBe('blocks.2.hook_resid_post');

    exportDictionary(run, { format: 'json', out: path.join(root, 'stats.json'), features: '5' });
    const j = JSON.parse(fs.readFileSync(path.join(root, 'stats.json'), 'utf8')) as { features: Record<string, unknown>[] };
    expect(j.features).toHaveLength(1);
    expect(j.features[0]).toMatchObject({ index: 5, dead: false, mean_activation: null });
    expect(j.features[0]!['frequency']).toBeCloseTo(0.05);
    expect(j.features[0]).not.toHaveProperty('top_examples');
  });

  it('refuses an existing output unless --force, and replaces it with --force', () => {
    const out = path.join(root, 'exists.npy');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'old.txt'), 'x');
    const err = thrown(() => exportDictionary(run, { format: 'npy', out }));
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toBe(`${out} already exists.`);
    expect((err as RunError).hint).toContain('--force');
    exportDictionary(run, { format: 'npy', out, force: true });
    expect(fs.readdirSync(out)).not.toContain('old.txt');
    // A folder export may replace a file and vice versa.
    exportDictionary(run, { format: 'json', out, force: true });
    expect(fs.statSync(out).isFile()).toBe(true);
    expect(leftovers()).toEqual([]);
  });

  it('refuses json above the size limit unless --force', () => {
    const out = path.join(root, 'big.json');
    const err = thrown(() => exportDictionary(run, { format: 'json', out, maxJsonFeatures: 10 }));
    expect(err.message).toBe(`A json export of ${M} features is above the limit of 10.`);
    expect(fs.existsSync(out)).toBe(false);
    exportDictionary(run, { format: 'json', out, maxJsonFeatures: 10, features: '0-9' });
    exportDictionary(run, { format: 'json', out, maxJsonFeatures: 10, force: true });
  });

  it('rejects unknown formats, float16 for arrow/json, and outputs inside the run', () => {
    const e1 = thrown(() => exportDictionary(run, { format: 'onnx', out: path.join(root, 'x') }));
    expect(e1).toBeInstanceOf(ConfigError);
    expect(e1.message).toBe("Unknown export format 'onnx'.");
    expect((e1 as ConfigError).hint).toBe('Use one of: saelens, safetensors, npy, arrow, json, sparsify.');
    expect(() => exportDictionary(run, { format: 'json', out: path.join(root, 'h.json'), dtype: 'float16' })).toThrow(/not available for json/);
    expect(() => exportDictionary(run, { format: 'saelens', out: run, force: true })).toThrow(/would destroy the run/);
    expect(() => exportDictionary(run, { format: 'saelens', out: root, force: true })).toThrow(/would destroy the run/);
    expect(() => exportDictionary(run, { format: 'json', out: path.join(run, 'run.json'), force: true })).toThrow(/one of the run's own files/);
    expect(fs.existsSync(path.join(run, 'run.json'))).toBe(true);
  });

  it('leaves no partial output when writing fails midway', () => {
    const out = path.join(root, 'fails.saelens');
    const real = fs.renameSync;
    let calls = 0;
    vi.spyOn(fs, 'renameSync').mockImplementation((a, b) => {
      calls += 1;
      if (calls === 2) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      real(a, b);
    });
    const err = thrown(() => exportDictionary(run, { format: 'saelens', out }));
    expect(err).toBeInstanceOf(RunError);
    expect(err.message).toMatch(/disk full/);
    vi.restoreAllMocks();
    expect(fs.existsSync(out)).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('formats index ranges compactly', () => {
    expect(formatRanges(Int32Array.from([0, 1, 2, 5, 7, 8]))).toBe('0-2,5,7-8');
    expect(formatRanges(Int32Array.from([]))).toBe('');
  });
});
