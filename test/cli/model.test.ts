import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmTmp, runCli, tmpDir } from '../helpers/cli.js';
import { STORIES_260K, writeTinyModel } from '../model/model-files.js';

const dir = tmpDir('sae-model-cli-');
afterAll(() => rmTmp(dir));

describe('sae model inspect', () => {
  it('describes stories260K', async () => {
    const r = await runCli(['model', 'inspect', STORIES_260K]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("architecture 'llama'");
    expect(r.stdout).toContain('d_model 64, 5 blocks, 8 heads (4 key/value heads, head size 8), FFN 172, vocabulary 512');
    expect(r.stdout).toContain('blk.0.attn_k.weight          F32   [32, 64]');
    expect(r.stdout).toContain('supported: yes');
    const j = await runCli(['model', 'inspect', STORIES_260K, '--json']);
    const report = JSON.parse(j.stdout) as { config: { nLayers: number }; tensors: unknown[]; fileBytes: number };
    expect(report.config.nLayers).toBe(5);
    expect(report.tensors).toHaveLength(48);
    expect(report.fileBytes).toBe(fs.statSync(STORIES_260K).size);
  });

  it('says what is unsupported without failing', async () => {
    const file = writeTinyModel(dir, 'gpt2.gguf', (m) => {
      m.entries[0] = { key: 'general.architecture', type: 'string', value: 'gpt2' };
    });
    const r = await runCli(['model', 'inspect', file]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/supported: no: architecture 'gpt2' is not supported/);
  });

  it('rejects a file that is not GGUF and a truncated one in one paragraph, exit 1', async () => {
    const text = path.join(dir, 'notes.gguf');
    fs.writeFileSync(text, 'just some text\n');
    const r = await runCli(['model', 'inspect', text]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: .*notes\.gguf: not a readable GGUF file: it starts with "just", expected "GGUF"\.\nhint: /);
    const cut = path.join(dir, 'cut.gguf');
    fs.writeFileSync(cut, fs.readFileSync(STORIES_260K).subarray(0, 5000));
    const t = await runCli(['model', 'inspect', cut]);
    expect(t.status).toBe(1);
    expect(t.stderr).toMatch(/cut\.gguf: not a readable GGUF file: .*truncated/);
    expect(t.stderr).not.toMatch(/at .*\.js:\d+/);
  });
});
