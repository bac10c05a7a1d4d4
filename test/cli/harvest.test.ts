import fs from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURE_EVAL, rmTmp, runCli, tmpDir, writeConfig } from '../helpers/cli.js';
import { maxAbsDiff } from '../helpers/tensors.js';
import { STORIES_260K } from '../model/model-files.js';

const dir = tmpDir('sae-harvest-');
afterAll(() => rmTmp(dir));
const HOOK = 'blocks.2.hook_resid_post';

function activations(file: string): Float32Array {
  const t = tableFromIPC(fs.readFileSync(file));
  const out = new Float32Array(t.numRows * 64);
  let at = 0;
  for (const v of t.getChild('activation')!) {
    out.set(v!.toArray() as Float32Array, at);
    at += 64;
  }
  return out;
}

function concatShards(folder: string): Float32Array {
  const parts = fs.readdirSync(folder).filter((f) => f.endsWith('.arrow')).sort().map((f) => activations(path.join(folder, f)));
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function tokenIds(folder: string): number[] {
  return fs.readdirSync(folder).filter((f) => f.endsWith('.arrow')).sort().flatMap((f) => Array.from(tableFromIPC(fs.readFileSync(path.join(folder, f))).getChild('token_id')!.toArray() as Int32Array));
}

describe('sae harvest', () => {
  const out = path.join(dir, 'acts');
  const args = ['harvest', '--model', STORIES_260K, '--tokens', FIXTURE_EVAL, '--hook', HOOK, '--context', '512', '--out', out, '--shard-rows', '700', '--backend', 'wasm'];

  it('reproduces the shipped activations from their token ids, in shards sae reads', async () => {
    const r = await runCli(args);
    expect(r.stderr).toMatch(/wrote 2048 rows in 3 shard\(s\)/);
    expect(r.status).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['harvest.json', 'shard-00000.arrow', 'shard-00001.arrow', 'shard-00002.arrow']);
    expect(maxAbsDiff(concatShards(out), activations(FIXTURE_EVAL))).toBeLessThan(1e-3);
    const t = tableFromIPC(fs.readFileSync(path.join(out, 'shard-00000.arrow')));
    expect(t.schema.fields.map((f) => f.name)).toEqual(['activation', 'token_id', 'token', 'doc_id', 'pos']);
    expect(t.schema.metadata.get('hook')).toBe(HOOK);
    expect(t.schema.metadata.get('layer')).toBe('2');
    expect(t.schema.metadata.get('model')).toBe('stories260K');
    const fixture = tableFromIPC(fs.readFileSync(FIXTURE_EVAL));
    expect(Array.from(t.getChild('token')!.toArray()).slice(0, 5)).toEqual(Array.from(fixture.getChild('token')!.toArray()).slice(0, 5));
    // The data layer reads the folder.
    const inspect = await runCli(['inspect', out, '--json']);
    expect(inspect.status).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ rows: 2048, d: 64 });
  });

  it('--compare: reports how the harvest agrees with the dump its token ids came from', async () => {
    // The harvest is complete: running it again only compares.
    const r = await runCli([...args, '--compare', FIXTURE_EVAL]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/harvest already complete/);
    expect(r.stderr).toMatch(/compared with .*stories260k-L2-eval-2k\.arrow: 2048 rows matched by \(doc_id, pos\), largest absolute difference \d\.\d\de-\d+ \(doc_id \d+, pos \d+\)/);
    const j = await runCli([...args, '--compare', FIXTURE_EVAL, '--json']);
    const c = JSON.parse(j.stdout).comparison;
    expect(c).toMatchObject({ rows: 2048, onlyInA: 0, onlyInB: 0 });
    expect(c.maxAbsDiff).toBeGreaterThan(0);
    expect(c.maxAbsDiff).toBeLessThan(1e-3);
  });

  it('continues an interrupted harvest after the last complete shard, with the same result', async () => {
    const first = concatShards(out);
    const firstTokens = tokenIds(out);
    // What a kill after the first shard leaves: one shard recorded, a later one half-written.
    const stateFile = path.join(out, 'harvest.json');
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    fs.writeFileSync(stateFile, JSON.stringify({ ...state, shardsDone: 1, rowsDone: 700, finished: false }));
    fs.rmSync(path.join(out, 'shard-00002.arrow'));
    fs.writeFileSync(path.join(out, '.shard-00001.arrow.partial-1-x-1'), 'half');
    const r = await runCli(args);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/continued after 700 rows/);
    // Batches are cut differently after a resume, so products may round differently in the last bits.
    expect(tokenIds(out)).toEqual(firstTokens);
    expect(maxAbsDiff(concatShards(out), first)).toBeLessThan(1e-5);
    expect(fs.readdirSync(out).some((f) => f.includes('partial'))).toBe(false);
    const done = await runCli(args);
    expect(done.stderr).toMatch(/harvest already complete/);
  });

  it('refuses other settings in the same folder, and a folder that is not a harvest', async () => {
    const r = await runCli([...args.slice(0, -4), '--shard-rows', '500', '--backend', 'wasm']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/holds a harvest made with other settings \(shardRows: 700 there, 500 now\)/);
    const other = path.join(dir, 'other');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'notes.txt'), 'x');
    const s = await runCli(['harvest', '--model', STORIES_260K, '--tokens', FIXTURE_EVAL, '--hook', HOOK, '--out', other]);
    expect(s.status).toBe(1);
    expect(s.stderr).toMatch(/is not a harvest/);
  });

  it('harvests text, several hooks in one pass, BOS excluded', async () => {
    const text = path.join(dir, 'stories.txt');
    fs.writeFileSync(text, 'Once upon a time, there was a cat.\n\nThe cat liked to play.\nThe end.\n');
    const o = path.join(dir, 'text-acts');
    const r = await runCli(['harvest', '--model', STORIES_260K, '--text', text, '--hook', 'blocks.0.hook_resid_post', HOOK, '--out', o, '--exclude-bos', '--json']);
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout) as { rows: number; folders: Record<string, string> };
    expect(Object.keys(result.folders)).toEqual(['blocks.0.hook_resid_post', HOOK]);
    const t = tableFromIPC(fs.readFileSync(path.join(o, HOOK, 'shard-00000.arrow')));
    expect(t.numRows).toBe(result.rows);
    expect(Array.from(t.getChild('doc_id')!.toArray() as Int32Array).filter((d, i, a) => i === 0 || d !== a[i - 1])).toEqual([0, 1, 2]);
    expect(Array.from(t.getChild('token_id')!.toArray() as Int32Array)).not.toContain(1);
    expect(t.schema.metadata.get('bos_included')).toBe('false');
  });

  it('rejects text that is not UTF-8, an empty file and a hook the model lacks, leaving nothing behind', async () => {
    const latin1 = path.join(dir, 'latin1.txt');
    fs.writeFileSync(latin1, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    const o = path.join(dir, 'bad');
    const r = await runCli(['harvest', '--model', STORIES_260K, '--text', latin1, '--hook', HOOK, '--out', o]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/latin1\.txt: not UTF-8 text: byte 3 \(line 1\) is 0xe9/);
    const empty = path.join(dir, 'empty.txt');
    fs.writeFileSync(empty, '\n\n');
    const e = await runCli(['harvest', '--model', STORIES_260K, '--text', empty, '--hook', HOOK, '--out', o]);
    expect(e.stderr).toMatch(/empty\.txt: holds no text/);
    const h = await runCli(['harvest', '--model', STORIES_260K, '--text', latin1, '--hook', 'blocks.7.hook_resid_post', '--out', o]);
    expect(h.stderr).toMatch(/there is no block 7/);
    expect(fs.existsSync(o)).toBe(false);
  });
});

/** Column `name` of every shard in `folder` (not its subfolders), in shard order. */
function column(folder: string, name: string): number[] {
  return fs.readdirSync(folder).filter((f) => f.endsWith('.arrow')).sort().flatMap((f) => Array.from(tableFromIPC(fs.readFileSync(path.join(folder, f))).getChild(name)!.toArray() as Int32Array));
}

describe('sae harvest --eval-fraction', () => {
  const text = path.join(dir, 'many-stories.txt');
  const words = ['the', 'cat', 'dog', 'sun', 'ran', 'big', 'little', 'happy', 'tree', 'girl', 'boy', 'played', 'saw'];
  // 300 short documents, word choices from a fixed LCG so the file is the same every run.
  let x = 7;
  const next = (n: number): number => (x = (x * 1103515245 + 12345) % 2147483648) % n;
  fs.writeFileSync(text, Array.from({ length: 300 }, () => Array.from({ length: 3 + next(10) }, () => words[next(words.length)]).join(' ') + '.').join('\n') + '\n');
  const out = path.join(dir, 'split-acts');
  const args = ['harvest', '--model', STORIES_260K, '--text', text, '--hook', HOOK, '--out', out, '--shard-rows', '500', '--backend', 'wasm'];
  let trainDocs: number[] = [];
  let evalDocs: number[] = [];

  it('holds out whole documents, about the fraction asked, in eval/ with split metadata', async () => {
    const r = await runCli([...args, '--eval-fraction', '0.2']);
    expect(r.status, r.stderr).toBe(0);
    trainDocs = [...new Set(column(out, 'doc_id'))];
    evalDocs = [...new Set(column(path.join(out, 'eval'), 'doc_id'))];
    // Disjoint by document, together every document, and every token of a document on one side.
    expect(trainDocs.filter((d) => evalDocs.includes(d))).toEqual([]);
    expect([...trainDocs, ...evalDocs].sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(evalDocs.length / 300).toBeGreaterThan(0.12);
    expect(evalDocs.length / 300).toBeLessThan(0.28);
    const trainRows = column(out, 'doc_id').length;
    const evalRows = column(path.join(out, 'eval'), 'doc_id').length;
    expect(r.stderr).toContain(`split (--eval-fraction 0.2, whole documents): train ${trainDocs.length} documents / ${trainRows} tokens, eval ${evalDocs.length} documents / ${evalRows} tokens`);
    expect(r.stderr).toContain(`"data": { "train": ${JSON.stringify(path.join(out, '*.arrow'))}, "eval": ${JSON.stringify(path.join(out, 'eval', '*.arrow'))} }`);
    const first = (f: string): Map<string, string> => tableFromIPC(fs.readFileSync(f)).schema.metadata;
    expect(first(path.join(out, 'shard-00000.arrow')).get('split')).toBe('train');
    expect(first(path.join(out, 'eval', 'shard-00000.arrow')).get('split')).toBe('eval');
    expect(JSON.parse(fs.readFileSync(path.join(out, 'harvest.json'), 'utf8')).settings.evalFraction).toBe(0.2);
  });

  it('continues an interrupted split harvest the same way, and refuses another fraction', async () => {
    const before = { train: column(out, 'token_id'), eval: column(path.join(out, 'eval'), 'token_id'), evalDoc: column(path.join(out, 'eval'), 'doc_id') };
    const stateFile = path.join(out, 'harvest.json');
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    // Killed inside the train split, then (second round) inside the eval split.
    for (const at of [{ shardsDone: 2, evalShardsDone: 0, rowsDone: 1000 }, { shardsDone: state.shardsDone, evalShardsDone: 1, rowsDone: before.train.length + 500 }]) {
      fs.writeFileSync(stateFile, JSON.stringify({ ...state, ...at, finished: false }));
      const r = await runCli([...args, '--eval-fraction', '0.2']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(`continued after ${at.rowsDone} rows`);
      expect(column(out, 'token_id')).toEqual(before.train);
      expect(column(path.join(out, 'eval'), 'token_id')).toEqual(before.eval);
      expect(column(path.join(out, 'eval'), 'doc_id')).toEqual(before.evalDoc);
    }
    const other = await runCli([...args, '--eval-fraction', '0.1']);
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/holds a harvest made with other settings \(evalFraction: 0.2 there, 0.1 now\)/);
    const bad = await runCli([...args.slice(0, -6), '--out', path.join(dir, 'never'), '--eval-fraction', '1']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/eval-fraction/i);
  });

  it('sae train reads the printed data.train / data.eval globs', async () => {
    const cfg = writeConfig(dir, {
      data: { train: path.join(out, '*.arrow'), eval: path.join(out, 'eval', '*.arrow'), shuffleBuffer: 1024 },
      sae: { expansion: 2, l1: 0.01 },
      train: { steps: 10, batchSize: 128, logEvery: 5 },
      output: { dir: path.join(dir, 'runs') },
    }, 'split.json');
    const r = await runCli(['train', '--config', cfg, '--backend', 'cpu']);
    expect(r.status, r.stderr).toBe(0);
    const evalRows = column(path.join(out, 'eval'), 'doc_id').length;
    expect(r.stderr).toMatch(new RegExp(`held-out \\(${evalRows} rows\\): explained variance`));
  });
});
