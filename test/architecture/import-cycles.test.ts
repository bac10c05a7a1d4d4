import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cycles, folderGraph, importGraph, reachable, staticImportGraph } from '../helpers/import-graph.js';
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

  it('lets the CLI use only the public API: every name it takes from the library is exported by src/index.ts', async () => {
    const index = (await import('../../src/index.js')) as Record<string, unknown>;
    const cli = [...graph].filter(([f]) => f.startsWith('cli/'));
    expect(cli.length).toBeGreaterThan(10);
    const used: string[] = [];
    const outside: string[] = [];
    for (const [f] of cli) {
      const text = fs.readFileSync(path.join(SRC, f), 'utf8');
      const fromLibrary = (spec: string) => !path.posix.normalize(path.posix.join('cli', path.posix.dirname(f.slice(4)), spec)).startsWith('cli/');
      for (const m of text.matchAll(/^import\s+(type\s+)?\{([^}]*)\}\s+from\s+'(\.[^']+)';/gm)) {
        if (!fromLibrary(m[3]!)) continue;
        // Types cost nothing at run time: they come from the API module itself.
        if (m[1]) {
          if (!m[3]!.endsWith('/index.js')) outside.push(`${f}: type import from ${m[3]}`);
          continue;
        }
        for (const n of m[2]!.split(',').map((x) => x.trim()).filter((x) => x && !x.startsWith('type '))) used.push(`${f}: ${n.split(/\s+as\s+/)[0]}`);
      }
      for (const m of text.matchAll(/const \{([^}]*)\} = await import\('(\.[^']+)'\);/g)) {
        if (fromLibrary(m[2]!)) for (const n of m[1]!.split(',').map((x) => x.trim()).filter(Boolean)) used.push(`${f}: ${n}`);
      }
    }
    expect(used.length).toBeGreaterThan(40);
    expect(used.filter((u) => !(u.slice(u.indexOf(': ') + 2) in index))).toEqual([]);
    expect(outside).toEqual([]);
  });

  it('loads the library lazily: what `sae --help` loads (the CLI\'s static imports) reaches neither src/index.ts nor tfjs; each command imports what it runs as it runs', () => {
    const loaded = reachable(staticImportGraph(SRC), 'cli/main.ts');
    expect(loaded.size).toBeGreaterThan(15);
    expect([...loaded].filter((f) => f === 'index.ts' || f === 'backend/tfjs.ts')).toEqual([]);
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

  it('leaves type-only and dynamic imports out of what loading a file loads at once', () => {
    const dir = tmpDir('sae-import-graph-');
    const write = (f: string, text: string) => fs.writeFileSync(path.join(dir, f), text);
    write('main.ts', "import type { T } from './types.js';\nimport { a } from './a.js';\nexport * from './b.js';\nconst later = () => import('./heavy.js');\n");
    for (const f of ['types.ts', 'a.ts', 'b.ts', 'heavy.ts']) write(f, 'export const x = 1;\n');
    expect([...staticImportGraph(dir).get('main.ts')!].sort()).toEqual(['a.ts', 'b.ts']);
    expect([...importGraph(dir).get('main.ts')!].sort()).toEqual(['a.ts', 'b.ts', 'heavy.ts', 'types.ts']);
    expect([...reachable(staticImportGraph(dir), 'main.ts')].sort()).toEqual(['a.ts', 'b.ts', 'main.ts']);
  });
});
