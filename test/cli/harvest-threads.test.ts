import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURE_EVAL, rmTmp, runCli, tmpDir } from '../helpers/cli.js';
import { STORIES_260K } from '../model/model-files.js';

const dir = tmpDir('sae-harvest-threads-');
afterAll(() => rmTmp(dir));
const HOOK = 'blocks.2.hook_resid_post';

/** Every file of a harvest folder (shards, eval/ shards), by relative path, as bytes; harvest.json left out. */
function files(folder: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const f of fs.readdirSync(folder, { recursive: true }) as string[]) {
    const p = path.join(folder, f);
    if (f.endsWith('.arrow')) out[f] = fs.readFileSync(p);
  }
  return out;
}

describe('sae harvest --threads', () => {
  const args = (out: string, threads: string): string[] => ['harvest', '--model', STORIES_260K, '--tokens', FIXTURE_EVAL, '--hook', HOOK, 'blocks.0.hook_mlp_out', '--context', '96', '--shard-rows', '500', '--eval-fraction', '0.3', '--out', out, '--threads', threads];

  it('writes byte-identical shards on 1 and 2 threads', async () => {
    const results: Record<string, Record<string, Buffer>> = {};
    for (const threads of ['1', '2']) {
      const out = path.join(dir, `t${threads}`);
      const r = await runCli([...args(out, threads), '--json']);
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ rows: 2067, threads: Number(threads) });
      results[threads] = files(out);
    }
    expect(Object.keys(results['1']!).length).toBeGreaterThanOrEqual(6);
    for (const threads of ['2']) {
      expect(Object.keys(results[threads]!).sort()).toEqual(Object.keys(results['1']!).sort());
      for (const [f, bytes] of Object.entries(results['1']!)) expect(results[threads]![f]!.equals(bytes), `${f} on ${threads} threads`).toBe(true);
    }
  });

  it('continues on 1 thread a harvest interrupted on 2, with the same shards', async () => {
    const out = path.join(dir, 't2');
    const before = files(out);
    const stateFile = path.join(out, 'harvest.json');
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    fs.writeFileSync(stateFile, JSON.stringify({ ...state, shardsDone: 1, evalShardsDone: 0, rowsDone: 500, finished: false }));
    const r = await runCli(args(out, '1'));
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/continued after 500 rows/);
    const after = files(out);
    for (const [f, bytes] of Object.entries(before)) expect(after[f]!.equals(bytes), f).toBe(true);
  });

  it('refuses a thread count that is not auto or 1..64 in one paragraph, before any work', async () => {
    for (const bad of ['0', 'many']) {
      const out = path.join(dir, `bad-${bad}`);
      const r = await runCli(args(out, bad));
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`--threads: expected 'auto' or a whole number of threads from 1 to 64 (got ${JSON.stringify(bad)})`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(fs.existsSync(out)).toBe(false);
    }
  });
});
