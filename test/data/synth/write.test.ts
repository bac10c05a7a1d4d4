import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { SYNTH_DEFAULTS, SynthGenerator } from '../../../src/data/synth/synth.js';
import { loadGroundTruth } from '../../../src/data/synth/ground-truth.js';
import { synthPaths, writeSynthetic, type SynthWriteOptions } from '../../../src/data/synth/write.js';
import { DataError, RunError } from '../../../src/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function options(out: string, over: Partial<SynthWriteOptions> = {}): SynthWriteOptions {
  return { ...SYNTH_DEFAULTS, rows: 1000, features: 48, dim: 16, active: 3, blockRows: 300, evalRows: 0, force: false, out, ...over };
}

function rowsOf(file: string): { x: Float32Array; d: number; rows: number; meta: Map<string, string>; batches: number } {
  const t = tableFromIPC(fs.readFileSync(file));
  const col = t.getChild('activation')!;
  const d = (t.schema.fields[0]!.type as { listSize: number }).listSize;
  const x = new Float32Array(t.numRows * d);
  for (let i = 0; i < t.numRows; i++) x.set((col.get(i) as { toArray(): Float32Array }).toArray(), i * d);
  return { x, d, rows: t.numRows, meta: t.schema.metadata, batches: t.batches.length };
}

describe('writeSynthetic', () => {
  it('writes the generator output batch by batch, its eval split and the ground truth in both formats', async () => {
    const dir = path.join(tmp, 'a');
    const progress: number[] = [];
    const rep = await writeSynthetic(options(dir, { evalRows: 200, onProgress: (r) => progress.push(r) }));
    const p = synthPaths(dir);
    expect(rep.files.activations).toBe(p.activations);
    const train = rowsOf(p.activations);
    const held = rowsOf(p.eval);
    expect([train.rows, train.d, train.batches]).toEqual([1000, 16, 4]);
    expect(held.rows).toBe(200);
    expect(train.meta.get('generator')).toBe('sae synth');
    expect(train.meta.get('features')).toBe('48');
    expect(train.meta.get('split')).toBe('train');
    expect(progress[progress.length - 1]).toBe(1200);

    // Same rows as the generator itself produces (train, then eval, from one stream).
    const gen = new SynthGenerator({ ...options(dir), rows: 1200 });
    const all = new Float32Array(1200 * 16);
    let o = 0;
    for (let b = gen.nextBlock(1000 - o); o < 1000 && b; b = gen.nextBlock(1000 - o)) {
      all.set(b.x, o * 16);
      o += b.rows;
    }
    for (let b = gen.nextBlock(); b; b = gen.nextBlock()) {
      all.set(b.x, o * 16);
      o += b.rows;
    }
    expect(Array.from(train.x)).toEqual(Array.from(all.subarray(0, 1000 * 16)));
    expect(Array.from(held.x)).toEqual(Array.from(all.subarray(1000 * 16)));

    const a = loadGroundTruth(p.groundTruthArrow);
    const s = loadGroundTruth(p.groundTruthSafetensors);
    expect([a.features, a.d, s.features, s.d]).toEqual([48, 16, 48, 16]);
    expect(Array.from(a.directions)).toEqual(Array.from(gen.groundTruth));
    expect(Array.from(s.directions)).toEqual(Array.from(gen.groundTruth));

    const summary = JSON.parse(fs.readFileSync(p.summary, 'utf8'));
    expect(summary.measured.meanActive).toBeCloseTo(rep.measured.meanActive, 12);
    expect(rep.measured.meanActive).toBeGreaterThan(2.5);
    expect(rep.measured.meanActive).toBeLessThan(3.5);
    // No temporary files left behind.
    expect(fs.readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('names outputs after a .arrow path and refuses to overwrite without force', async () => {
    const file = path.join(tmp, 'b.arrow');
    await writeSynthetic(options(file, { rows: 10 }));
    expect(fs.existsSync(path.join(tmp, 'b.ground-truth.safetensors'))).toBe(true);
    expect(fs.existsSync(path.join(tmp, 'b.eval.arrow'))).toBe(false);
    await expect(writeSynthetic(options(file, { rows: 10 }))).rejects.toThrow(RunError);
    await writeSynthetic(options(file, { rows: 12, force: true }));
    expect(rowsOf(file).rows).toBe(12);
  });

  it('loadGroundTruth explains a wrong file', () => {
    const bad = path.join(tmp, 'not-gt.arrow');
    fs.writeFileSync(bad, 'hello');
    expect(() => loadGroundTruth(bad)).toThrow(DataError);
    expect(() => loadGroundTruth(path.join(tmp, 'missing.safetensors'))).toThrow(/no such ground-truth file/);
  });
});
