import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cycles, folderGraph, importGraph } from '../helpers/import-graph.js';
import { tmpDir } from '../helpers/cli.js';

const SRC = path.resolve(import.meta.dirname, '../../src');

describe('the import graph of src/', () => {
  const graph = importGraph(SRC);

  it('has no file import cycle', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(cycles(graph)).toEqual([]);
  });

  it('has no folder import cycle', () => {
    expect(cycles(folderGraph(graph))).toEqual([]);
  });

  it('keeps src/sae pure model math: it imports nothing from the trainer or the step engines', () => {
    const out = [...graph].filter(([f]) => f.startsWith('sae/')).flatMap(([f, deps]) => [...deps].filter((d) => /^(train|step|resample|io)\//.test(d)).map((d) => `${f} -> ${d}`));
    expect(out).toEqual([]);
  });

  it('lets the CLI reach the library only through src/index.ts (the public API)', () => {
    const cli = [...graph].filter(([f]) => f.startsWith('cli/'));
    expect(cli.length).toBeGreaterThan(10);
    const out = cli.flatMap(([f, deps]) => [...deps].filter((d) => !d.startsWith('cli/') && d !== 'index.ts').map((d) => `${f} -> ${d}`));
    expect(out).toEqual([]);
  });
});

describe('the cycle checker', () => {
  it('finds a file cycle through a re-export and a type-only import, and a folder cycle', () => {
    const dir = tmpDir('sae-import-graph-');
    const write = (f: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), text);
    };
    write('a/one.ts', "export { two } from './two.js';\n");
    write('a/two.ts', "import type { One } from './one.js';\nimport { three } from '../b/three.js';\n");
    write('b/three.ts', "import { four } from '../a/four.js';\n");
    write('a/four.ts', 'export const four = 4;\n');
    write('errors.ts', "import { four } from './a/four.js';\n");
    const g = importGraph(dir);
    expect(cycles(g)).toEqual([['a/one.ts', 'a/two.ts']]);
    expect(cycles(folderGraph(g))).toEqual([['a', 'b']]);
  });
});
