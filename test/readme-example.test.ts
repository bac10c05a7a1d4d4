import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmTmp, tmpDir } from './helpers/cli.js';

// The README's "train from TypeScript" example, run as written against the built package (npm
// test builds first): `import ... from 'sae'` resolves to this package through its "exports".
const ROOT = path.resolve(import.meta.dirname, '..');
const out = tmpDir('sae-readme-example-');
afterAll(() => rmTmp(out));

function example(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = /<!-- example: train-from-code -->\n```ts\n([\s\S]*?)```/.exec(readme);
  expect(m, 'README.md has the train-from-code example').not.toBeNull();
  return m![1]!;
}

describe('README: training from TypeScript', () => {
  it('the example runs and trains', () => {
    const code = example();
    expect(code.split('\n').filter((l) => l.trim()).length).toBeLessThanOrEqual(14);
    // The only change: the run directory goes to a temporary folder. The file sits in the
    // package (so 'sae' resolves to it) under a git-ignored folder.
    const dir = path.join(ROOT, '.vitest-tmp');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `readme-example-${process.pid}.mjs`);
    fs.writeFileSync(file, code.replace("'runs/from-code'", JSON.stringify(path.join(out, 'run'))));
    try {
      const r = spawnSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^20 steps; held-out explained variance [-0-9.]+, L0 [0-9.]+\n$/);
      const info = JSON.parse(fs.readFileSync(path.join(out, 'run', 'run.json'), 'utf8'));
      expect(info.status).toBe('finished');
      expect(info.recipe).toEqual({ name: 'april-update', sparsityPenalty: 'l1-decoder-norm', decoderConstraint: 'none', gradClip: 1, decoderInitNorm: 0.1 });
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});
