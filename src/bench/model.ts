/**
 * `npm run bench` (model part): forward-pass throughput of the GGUF Llama on tfjs.
 *   - stories260K harvesting blocks.2.hook_resid_post (stops after block 2) at several contexts,
 *     with the time split by kernel (tf.profile) and the read-back;
 *   - stories260K spliced evaluation (four forward passes per batch: clean, SAE, zero, mean);
 *   - randomly initialised 15M- and 110M-parameter Llamas (llama2.c's stories15M/110M shapes),
 *     written as GGUF by the bench itself: harvest at the middle block and full forward.
 *
 *   node dist/bench/model.js [--json] [--no-large]
 */
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

export interface ModelBenchRow {
  model: string;
  task: string;
  context: number;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  /** Share of kernel time by kernel (top entries), from one profiled batch. */
  split?: Record<string, number>;
}

function rss(): number {
  return process.resourceUsage().maxRSS / 1024; // kB -> MiB
}

/** Harvest-style passes over `ws` for at least `minSeconds`; the first batch is warm-up. */
async function harvestRate(model: LlamaModel, name: string, ws: TokenWindow[], hook: string, context: number, minSeconds: number): Promise<ModelBenchRow> {
  const batches = [...batchWindows(ws, model.config.nHeads)];
  await readHooks(model, batches[0]!, [hook]);
  let tokens = 0;
  const t0 = performance.now();
  do {
    for (const b of batches) {
      await readHooks(model, b, [hook]);
      tokens += b.reduce((s, w) => s + w.tokens.length, 0);
    }
  } while ((performance.now() - t0) / 1000 < minSeconds);
  const seconds = (performance.now() - t0) / 1000;
  const profile = await tf.profile(() => {
    tf.tidy(() => void model.forward(paddedTokens(batches[0]!), { stopAfter: hook }));
  });
  const byKernel: Record<string, number> = {};
  let total = 0;
  for (const k of profile.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    byKernel[k.name] = (byKernel[k.name] ?? 0) + ms;
    total += ms;
  }
  const split = Object.fromEntries(
    Object.entries(byKernel)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([k, v]) => [k, Math.round((100 * v) / total) / 100]),
  );
  return { model: name, task: `harvest ${hook}`, context, tokens, seconds, tokensPerSecond: tokens / seconds, split };
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
      const logits = tf.tidy(() => model.forward(paddedTokens(ws))!);
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

export async function runModelBench(opts: { large: boolean }): Promise<{ rows: ModelBenchRow[]; peakRssMiB: number; parameters: Record<string, number> }> {
  await initBackend('wasm');
  const rows: ModelBenchRow[] = [];
  const model = loadModel(MODEL);
  const docs = readTokenDocuments(TOKENS, model.config.vocabSize);
  try {
    for (const context of [64, 128, 256, 512]) rows.push(await harvestRate(model, 'stories260K', [...windows(docs, context, model.tokenizer.bos)], 'blocks.2.hook_resid_post', context, 5));
  } finally {
    model.dispose();
  }
  const d = 64;
  const m = 512;
  const rng = new Rng(5);
  const dictionary = { d, m, W_enc: rng.fillNormal(new Float32Array(d * m)).map((x) => x * 0.1), b_enc: new Float32Array(m), W_dec: rng.fillNormal(new Float32Array(m * d)).map((x) => x * 0.1), b_dec: new Float32Array(d) };
  for (const context of [128, 512]) {
    const r = await evaluateWithModel(dictionary, 'blocks.2.hook_resid_post', { model: MODEL, data: TOKENS, context, backend: 'wasm' });
    rows.push({ model: 'stories260K', task: 'spliced evaluation (4 forwards)', context, tokens: r.tokens, seconds: r.seconds, tokensPerSecond: r.tokens / r.seconds });
  }
  if (opts.large) {
    rows.push(...(await largeModel(STORIES_15M, 'random-15M', 4, 256)));
    rows.push(...(await largeModel(STORIES_110M, 'random-110M', 1, 256)));
  }
  return { rows, peakRssMiB: rss(), parameters: { 'stories260K': 292_800, 'random-15M': llamaParameterCount(STORIES_15M), 'random-110M': llamaParameterCount(STORIES_110M) } };
}

export function formatModelBench(r: Awaited<ReturnType<typeof runModelBench>>): string {
  const lines = ['model forward (wasm backend)', '| model | task | context | tokens | s | tokens/s | kernel time split |', '| --- | --- | --- | --- | --- | --- | --- |'];
  for (const x of r.rows) {
    const split = x.split ? Object.entries(x.split).map(([k, v]) => `${k} ${Math.round(v * 100)}%`).join(', ') : '';
    lines.push(`| ${x.model} | ${x.task} | ${x.context} | ${x.tokens} | ${x.seconds.toFixed(1)} | ${Math.round(x.tokensPerSecond)} | ${split} |`);
  }
  lines.push(`parameters: ${Object.entries(r.parameters).map(([k, v]) => `${k} ${(v / 1e6).toFixed(2)}M`).join(', ')}; peak RSS ${Math.round(r.peakRssMiB)} MiB`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, 'no-large': { type: 'boolean', default: false } } });
  const r = await runModelBench({ large: !values['no-large'] });
  process.stdout.write(values.json ? JSON.stringify(r, null, 2) + '\n' : formatModelBench(r) + '\n');
}
