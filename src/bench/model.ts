/**
 * `npm run bench` (model part; `--no-model` leaves it out, `--model-only` runs only it):
 * forward-pass throughput of the GGUF Llama.
 *   - stories260K harvesting blocks.2.hook_resid_post (stops after block 2) at several contexts on
 *     the fast no-gradient path (what `sae harvest` runs), with its time split by phase, on one
 *     thread and on two worker threads (fast/pool.ts), measured alternately; at context 256 also the
 *     tfjs path (the differentiable reference) for before/after;
 *   - `sae harvest` end to end through the CLI (process start and Arrow shards included) at context
 *     256 on 1 and 2 threads, alternately, over ~150k tokens (the fixture's documents repeated);
 *   - stories260K spliced evaluation (`sae eval --model`: the blocks up to the hook, then the rest
 *     once per variant: clean, SAE, zero, mean), on 1 and 2 threads;
 *   - randomly initialised 15M- and 110M-parameter Llamas (llama2.c's stories15M/110M shapes),
 *     written as GGUF by the bench itself: harvest at the middle block and full forward.
 *
 *   node dist/bench/model.js [--json] [--no-large] [--quick]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '../backend/tfjs.js';
import { initBackend } from '../backend/select.js';
import { evaluateWithModel } from '../eval/evaluate-model.js';
import { writeArrowFile } from '../io/arrow-write.js';
import { batchWindows, paddedTokens, readHooks } from '../model/batches.js';
import { readTokenDocuments, windows, type TokenDocument, type TokenWindow } from '../model/documents.js';
import { ForwardPool } from '../model/fast/pool.js';
import { encodeGguf } from '../model/gguf/writer.js';
import type { LlamaModel } from '../model/llama.js';
import { loadModel } from '../model/load.js';
import { llamaParameterCount, randomLlamaGguf, STORIES_110M, STORIES_15M, type LlamaShape } from '../model/random-model.js';
import { Rng } from '../util/rng.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL = path.join(REPO, 'fixtures', 'stories260K.gguf');
const TOKENS = path.join(REPO, 'fixtures', 'stories260k-L2-eval-2k.arrow');
const HOOK = 'blocks.2.hook_resid_post';

export interface ModelBenchRow {
  model: string;
  task: string;
  context: number;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  /** Share of the time by phase (fast path). */
  split?: Record<string, number>;
}

function rss(): number {
  return process.resourceUsage().maxRSS / 1024; // kB -> MiB
}

/**
 * Harvest-style passes over `ws` (readHooks, as `sae harvest` reads a batch) for at least
 * `minSeconds`; the first batch is warm-up. The fast path reports its time split by phase.
 */
async function harvestRate(model: LlamaModel, name: string, ws: TokenWindow[], hook: string, context: number, minSeconds: number, fast = true, pool?: ForwardPool): Promise<ModelBenchRow> {
  const batches = [...batchWindows(ws, model.config.nHeads)];
  const read = async (b: TokenWindow[], phases?: Record<string, number>): Promise<void> => {
    if (pool) await pool.readHooks(b, [hook]);
    else if (fast) await readHooks(model, b, [hook], phases);
    else tf.tidy(() => void model.forward(paddedTokens(b), { stopAfter: hook }));
  };
  await read(batches[0]!);
  let tokens = 0;
  const phases: Record<string, number> = {};
  const t0 = performance.now();
  do {
    for (const b of batches) {
      await read(b, phases);
      tokens += b.reduce((s, w) => s + w.tokens.length, 0);
    }
  } while ((performance.now() - t0) / 1000 < minSeconds);
  const seconds = (performance.now() - t0) / 1000;
  const total = Object.values(phases).reduce((a, b) => a + b, 0);
  // What readHooks adds around the forward pass: token upload, hook read-back.
  phases['read-back'] = Math.max(0, seconds * 1000 - total);
  const split = fast && !pool ? Object.fromEntries(Object.entries(phases).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round((100 * v) / (seconds * 1000)) / 100])) : undefined;
  const how = pool ? `, ${pool.threads} threads` : fast ? '' : ' (tfjs path)';
  return { model: name, task: `harvest ${hook}${how}`, context, tokens, seconds, tokensPerSecond: tokens / seconds, split };
}

/** A token file of `docs` repeated (new doc ids) until it holds at least `tokens` tokens. */
function writeTokenFile(file: string, docs: TokenDocument[], tokens: number): void {
  const ids: number[] = [];
  const docIds: number[] = [];
  const pos: number[] = [];
  for (let copy = 0, doc = 0; ids.length < tokens; copy++) {
    for (const d of docs) {
      d.tokens.forEach((t, p) => (ids.push(t), docIds.push(doc), pos.push(p)));
      doc++;
    }
  }
  writeArrowFile(file, [
    { name: 'token_id', kind: 'int32', values: Int32Array.from(ids) },
    { name: 'doc_id', kind: 'int32', values: Int32Array.from(docIds) },
    { name: 'pos', kind: 'int32', values: Int32Array.from(pos) },
  ]);
}

/**
 * `sae harvest` through the CLI at `context` on each of `threads` in turn (alternating, `rounds`
 * times), timed from process start to exit; tokens/s per thread count from the summed times.
 */
async function cliHarvest(docs: TokenDocument[], tokens: number, context: number, threads: number[], rounds: number): Promise<ModelBenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-bench-harvest-'));
  try {
    const input = path.join(dir, 'tokens.arrow');
    writeTokenFile(input, docs, tokens);
    const seconds = new Map<number, number>(threads.map((t) => [t, 0]));
    let rows = 0;
    for (let r = 0; r < rounds; r++) {
      for (const t of threads) {
        const out = path.join(dir, `out-${t}`);
        fs.rmSync(out, { recursive: true, force: true });
        const args = [path.join(REPO, 'bin', 'sae.js'), 'harvest', '--model', MODEL, '--tokens', input, '--hook', HOOK, '--context', String(context), '--out', out, '--threads', String(t), '--json'];
        const t0 = performance.now();
        const stdout = await new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
          let text = '';
          let err = '';
          child.stdout.on('data', (c: Buffer) => (text += c.toString()));
          child.stderr.on('data', (c: Buffer) => (err += c.toString()));
          child.on('error', reject);
          child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`sae harvest exited with ${code}: ${err.trim().split('\n').pop()}`))));
        });
        seconds.set(t, seconds.get(t)! + (performance.now() - t0) / 1000);
        // Rows written: the tokens plus a BOS at the start of each continuation window.
        rows = (JSON.parse(stdout) as { rows: number }).rows;
      }
    }
    return threads.map((t) => ({ model: 'stories260K', task: `sae harvest CLI end to end, ${t} thread${t > 1 ? 's' : ''}`, context, tokens: rows * rounds, seconds: seconds.get(t)!, tokensPerSecond: (rows * rounds) / seconds.get(t)! }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Rows of the same measurement taken in turns, as one: summed tokens and seconds, the first's split. */
function merged(rs: ModelBenchRow[]): ModelBenchRow {
  const tokens = rs.reduce((s, r) => s + r.tokens, 0);
  const seconds = rs.reduce((s, r) => s + r.seconds, 0);
  return { ...rs[0]!, tokens, seconds, tokensPerSecond: tokens / seconds };
}

function randomWindows(n: number, length: number, vocab: number, seed: number): TokenWindow[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => ({ docId: i, tokens: Int32Array.from({ length }, (_, t) => (t === 0 ? 1 : 3 + rng.int(vocab - 3))) }));
}

export async function largeModel(shape: LlamaShape, name: string, windowsCount: number, context: number): Promise<ModelBenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-bench-model-'));
  try {
    const file = path.join(dir, `${name}.gguf`);
    const m = randomLlamaGguf(shape, { seed: 1, type: 'F16', name });
    fs.writeFileSync(file, encodeGguf(m.entries, m.tensors));
    const loadStart = performance.now();
    const model = loadModel(file);
    const loadSeconds = (performance.now() - loadStart) / 1000;
    try {
      const ws = randomWindows(windowsCount, context, shape.vocabSize, 2);
      const hook = `blocks.${Math.floor(shape.nLayers / 2)}.hook_resid_post`;
      const rows: ModelBenchRow[] = [await harvestRate(model, name, ws, hook, context, 0)];
      rows[0]!.task += ` (load ${loadSeconds.toFixed(1)} s)`;
      const t0 = performance.now();
      const logits = tf.tidy(() => model.forward(paddedTokens(ws), { fast: true })!);
      await logits.data();
      logits.dispose();
      const seconds = (performance.now() - t0) / 1000;
      rows.push({ model: name, task: 'full forward with logits', context, tokens: windowsCount * context, seconds, tokensPerSecond: (windowsCount * context) / seconds });
      return rows;
    } finally {
      model.dispose();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The model bench. `quick` (for tests): one context (64), one pass per measurement, no large
 * models.
 */
export async function runModelBench(opts: { large: boolean; quick?: boolean }): Promise<{ rows: ModelBenchRow[]; peakRssMiB: number; parameters: Record<string, number> }> {
  const quick = opts.quick ?? false;
  const contexts = quick ? [64] : [64, 128, 256, 512];
  const reference = quick ? 64 : 256;
  await initBackend('wasm');
  const rows: ModelBenchRow[] = [];
  const model = loadModel(MODEL);
  const docs = readTokenDocuments(TOKENS, model.config.vocabSize);
  const pool = await ForwardPool.create(model, 2);
  try {
    const ws = (context: number): TokenWindow[] => [...windows(docs, context, model.tokenizer.bos)];
    // One thread and two alternately, a few seconds each, so both see the same machine load.
    for (const context of contexts) {
      const one: ModelBenchRow[] = [];
      const two: ModelBenchRow[] = [];
      for (let r = 0; r < (quick ? 1 : 2); r++) {
        one.push(await harvestRate(model, 'stories260K', ws(context), HOOK, context, quick ? 0 : 2.5));
        two.push(await harvestRate(model, 'stories260K', ws(context), HOOK, context, quick ? 0 : 2.5, true, pool));
      }
      rows.push(merged(one), merged(two));
    }
    rows.push(await harvestRate(model, 'stories260K', ws(reference), HOOK, reference, quick ? 0 : 3, false));
  } finally {
    await pool.dispose();
    model.dispose();
  }
  rows.push(...(await cliHarvest(docs, quick ? 1 : 150_000, quick ? 64 : 256, quick ? [2] : [1, 2], quick ? 1 : 2)));
  const d = 64;
  const m = 512;
  const rng = new Rng(5);
  const dictionary = { d, m, W_enc: rng.fillNormal(new Float32Array(d * m)).map((x) => x * 0.1), b_enc: new Float32Array(m), W_dec: rng.fillNormal(new Float32Array(m * d)).map((x) => x * 0.1), b_dec: new Float32Array(d) };
  for (const context of quick ? [64] : [256, 512]) {
    for (const threads of [1, 2]) {
      const r = await evaluateWithModel(dictionary, HOOK, { model: MODEL, data: TOKENS, context, backend: 'wasm', threads, maxTokens: quick ? 256 : undefined });
      rows.push({ model: 'stories260K', task: `spliced evaluation (clean, SAE, zero, mean)${threads > 1 ? `, ${threads} threads` : ''}`, context, tokens: r.tokens, seconds: r.seconds, tokensPerSecond: r.tokens / r.seconds });
    }
  }
  if (opts.large && !quick) {
    rows.push(...(await largeModel(STORIES_15M, 'random-15M', 4, 256)));
    rows.push(...(await largeModel(STORIES_110M, 'random-110M', 1, 256)));
  }
  return { rows, peakRssMiB: rss(), parameters: { 'stories260K': 292_800, 'random-15M': llamaParameterCount(STORIES_15M), 'random-110M': llamaParameterCount(STORIES_110M) } };
}

export function formatModelBench(r: ModelBenchResult): string {
  const lines = ['model forward (fast path; tfjs wasm backend for the reference row)', '| model | task | context | tokens | s | tokens/s | time split |', '| --- | --- | --- | --- | --- | --- | --- |'];
  for (const x of r.rows) {
    const split = x.split ? Object.entries(x.split).map(([k, v]) => `${k} ${Math.round(v * 100)}%`).join(', ') : '';
    lines.push(`| ${x.model} | ${x.task} | ${x.context} | ${x.tokens} | ${x.seconds.toFixed(1)} | ${Math.round(x.tokensPerSecond)} | ${split} |`);
  }
  lines.push(`parameters: ${Object.entries(r.parameters).map(([k, v]) => `${k} ${(v / 1e6).toFixed(2)}M`).join(', ')}; peak RSS ${Math.round(r.peakRssMiB)} MiB`);
  return lines.join('\n');
}

export type ModelBenchResult = Awaited<ReturnType<typeof runModelBench>>;

/** The model bench in its own process (its own peak RSS and wasm heaps), for main.ts. */
export function runModelChild(opts: { large: boolean; quick: boolean }, log: (s: string) => void): Promise<ModelBenchResult> {
  log(`bench: language model forward (stories260K${opts.large && !opts.quick ? ', random 15M and 110M' : ''}) ...`);
  return new Promise((resolve, reject) => {
    const args = [fileURLToPath(import.meta.url), '--json', ...(opts.large ? [] : ['--no-large']), ...(opts.quick ? ['--quick'] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as ModelBenchResult) : reject(new Error(`the model benchmark exited with ${code}`))));
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, 'no-large': { type: 'boolean', default: false }, quick: { type: 'boolean', default: false } } });
  const r = await runModelBench({ large: !values['no-large'], quick: values.quick });
  process.stdout.write(values.json ? JSON.stringify(r, null, 2) + '\n' : formatModelBench(r) + '\n');
}
