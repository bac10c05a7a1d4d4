import fs from 'node:fs';
import path from 'node:path';

/** Relative imports of every .ts file under a directory: file -> files it imports (static, type-only, re-export, dynamic). */
export type ImportGraph = Map<string, Set<string>>;

const IMPORT = /(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|import\s+['"](\.[^'"]+)['"]/g;

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The import graph of the TypeScript files under `root`, keyed by paths relative to it ('/'-separated). */
export function importGraph(root: string): ImportGraph {
  return graphOf(root, IMPORT);
}

const STATIC_RUNTIME_IMPORT = /^(?:import|export)\s+(?!type\b)[^'";]*?from\s*['"](\.[^'"]+)['"]|^import\s+['"](\.[^'"]+)['"]/gm;

/**
 * What loading each file loads at once: its static imports and re-exports that are not
 * type-only (TypeScript erases those), without the dynamic `import()`s that run later.
 */
export function staticImportGraph(root: string): ImportGraph {
  return graphOf(root, STATIC_RUNTIME_IMPORT);
}

/** file -> the files under `root` that `pattern`'s matches (the first capturing group that matched) name. */
function graphOf(root: string, pattern: RegExp): ImportGraph {
  const rel = (p: string) => path.relative(root, p).split(path.sep).join('/');
  const graph: ImportGraph = new Map();
  for (const file of tsFiles(root)) {
    const deps = new Set<string>();
    for (const m of fs.readFileSync(file, 'utf8').matchAll(pattern)) {
      const target = path.resolve(path.dirname(file), m.slice(1).find((g) => g !== undefined)!);
      const found = [target.replace(/\.js$/, '.ts'), `${target}.ts`, path.join(target, 'index.ts')].find((c) => fs.existsSync(c));
      if (found) deps.add(rel(found));
    }
    graph.set(rel(file), deps);
  }
  return graph;
}

/** Every file reachable from `start` in `graph` (start included). */
export function reachable(graph: ImportGraph, start: string): Set<string> {
  const seen = new Set<string>();
  const visit = (f: string): void => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const d of graph.get(f) ?? []) visit(d);
  };
  visit(start);
  return seen;
}

/** Strongly connected components with more than one member (Tarjan): each is an import cycle. */
export function cycles(graph: ImportGraph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/**
 * The graph between top-level folders (files directly under the root, such as index.ts and
 * errors.ts, belong to no folder and are left out: everything may import errors.ts, and index.ts
 * imports everything).
 */
export function folderGraph(graph: ImportGraph): ImportGraph {
  const folder = (f: string) => (f.includes('/') ? f.slice(0, f.indexOf('/')) : null);
  const out: ImportGraph = new Map();
  for (const [file, deps] of graph) {
    const a = folder(file);
    if (a === null) continue;
    if (!out.has(a)) out.set(a, new Set());
    for (const d of deps) {
      const b = folder(d);
      if (b !== null && b !== a) out.get(a)!.add(b);
    }
  }
  return out;
}
