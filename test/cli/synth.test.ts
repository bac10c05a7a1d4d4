import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tableFromIPC } from 'apache-arrow';
import { rmTmp, runCli, tmpDir } from '../helpers/cli.js';

const dir = tmpDir('sae-cli-synth-');
afterAll(async () => rmTmp(dir));

describe('sae synth', () => {
  it('writes data, held-out rows, ground truth and a JSON summary', async () => {
    const out = path.join(dir, 'a');
    const r = await runCli(['synth', '--out', out, '--rows', '3000', '--eval-rows', '500', '--features', '40', '--dim', '24', '--active', '3', '--seed', '7', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.options).toMatchObject({ rows: 3000, evalRows: 500, features: 40, dim: 24, active: 3, decay: 0.99, seed: 7 });
    expect(rep.measured.meanActive).toBeGreaterThan(2.8);
    expect(rep.measured.meanActive).toBeLessThan(3.2);
    const t = tableFromIPC(fs.readFileSync(path.join(out, 'activations.arrow')));
    expect(t.numRows).toBe(3000);
    expect(String(t.schema.fields[0]!.type)).toMatch(/FixedSizeList\[24\]<Float32>/);
    expect(t.schema.metadata.get('seed')).toBe('7');
    expect(tableFromIPC(fs.readFileSync(path.join(out, 'eval.arrow'))).numRows).toBe(500);
    expect(tableFromIPC(fs.readFileSync(path.join(out, 'ground-truth.arrow'))).numRows).toBe(40);
    expect(fs.existsSync(path.join(out, 'ground-truth.safetensors'))).toBe(true);
  });

  it('is reproducible from the seed', async () => {
    const a = path.join(dir, 's1.arrow');
    const b = path.join(dir, 's2.arrow');
    for (const f of [a, b]) expect((await runCli(['synth', '--out', f, '--rows', '200', '--dim', '8', '--features', '16', '--active', '2', '--seed', '3'])).status).toBe(0);
    const rows = (f: string) => Buffer.from(tableFromIPC(fs.readFileSync(f)).getChild('activation')!.data[0]!.children[0]!.values.buffer);
    expect(rows(a).equals(rows(b))).toBe(true);
  });

  it('explains bad options and existing outputs', async () => {
    const bad = await runCli(['synth', '--out', path.join(dir, 'b'), '--rows', 'many']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/error: sae synth: invalid option:\n  --rows: expected number, received NaN \(got "many"\)/);
    const tooDense = await runCli(['synth', '--out', path.join(dir, 'c'), '--features', '4', '--active', '5', '--decay', '1']);
    expect(tooDense.status).toBe(1);
    expect(tooDense.stderr).toMatch(/probability .* > 1/);
    expect(tooDense.stderr).toMatch(/hint: /);
    const again = await runCli(['synth', '--out', path.join(dir, 'a'), '--rows', '10']);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already exists[\s\S]*hint: Pass --force/);
  });
});
