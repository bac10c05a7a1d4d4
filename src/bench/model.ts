/**
 * `npm run bench` (model part; `--no-model` leaves it out, `--model-only` runs only it):
 * forward-pass throughput of the GGUF Llama.
 *   - stories260K harvesting blocks.2.hook_resid_post (stops after block 2) at several contexts on
 *     the fast no-gradient path (what `sae harvest` runs), with its time split by phase; at context
 *     256 also the tfjs path (the differentiable reference) for before/after;
 *   - stories260K spliced evaluation (`sae eval --model`: four forward passes per batch: clean,
 *     SAE, zero, mean);
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
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/select.js';
import { evaluateWithModel } from '../eval/evaluate-model.js';
import { batchWindows, paddedTokens, readHooks } from '../model/batches.js';
import { readTokenDocuments, windows, type TokenWindow } from '../model/documents.js';
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
async function harvestRate(model: LlamaModel, name: string, ws: TokenWindow[], hook: string, context: number, minSeconds: number, fast = true): Promise<ModelBenchRow> {
  const batches = [...batchWindows(ws, model.config.nHeads)];
  const read = async (b: TokenWindow[], phases?: Record<string, number>): Promise<void> => {
    if (fast) await readHooks(model, b, [hook], phases);
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
  const split = fast ? Object.fromEntries(Object.entries(phases).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round((100 * v) / (seconds * 1000)) / 100])) : undefined;
  return { model: name, task: `harvest ${hook}${fast ? '' : ' (tfjs path)'}`, context, tokens, seconds, tokensPerSecond: tokens / seconds, split };
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
  try {
    const ws = (context: number): TokenWindow[] => [...windows(docs, context, model.tokenizer.bos)];
    for (const context of contexts) rows.push(await harvestRate(model, 'stories260K', ws(context), HOOK, context, quick ? 0 : 5));
    rows.push(await harvestRate(model, 'stories260K', ws(reference), HOOK, reference, quick ? 0 : 3, false));
  } finally {
    model.dispose();
  }
  const d = 64;
  const m = 512;
  const rng = new Rng(5);
  const dictionary = { d, m, W_enc: rng.fillNormal(new Float32Array(d * m)).map((x) => x * 0.1), b_enc: new Float32Array(m), W_dec: rng.fillNormal(new Float32Array(m * d)).map((x) => x * 0.1), b_dec: new Float32Array(d) };
  for (const context of quick ? [64] : [256, 512]) {
    const r = await evaluateWithModel(dictionary, HOOK, { model: MODEL, data: TOKENS, context, backend: 'wasm', maxTokens: quick ? 256 : undefined });
    rows.push({ model: 'stories260K', task: 'spliced evaluation (4 forwards)', context, tokens: r.tokens, seconds: r.seconds, tokensPerSecond: r.tokens / r.seconds });
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
