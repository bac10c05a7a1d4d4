import fs from 'node:fs';
import path from 'node:path';
import { initBackend, type BackendChoice } from '../backend/select.js';
import { RunError } from '../errors.js';
import { fsError, writeFileAtomic } from '../io/atomic.js';
import { batchWindows, readHooks } from './batches.js';
import { readTextDocuments, readTokenDocuments, windows, type TextSplit, type TokenDocument, type TokenWindow } from './documents.js';
import { ShardBuffer, shardName } from './harvest-shards.js';
import type { LlamaModel } from './llama.js';
import { loadModel } from './load.js';

export interface HarvestOptions {
  model: string;
  /** Exactly one input: a UTF-8 text file, or an Arrow file with token_id/doc_id/pos. */
  text?: string;
  tokens?: string;
  /** How a text file is cut into documents. */
  split: TextSplit;
  hooks: string[];
  context: number;
  out: string;
  /** Stop after this many rows (per hook). */
  maxTokens?: number;
  shardRows: number;
  /** Leave BOS positions out of the output (their activations are outliers). */
  excludeBos: boolean;
  backend?: BackendChoice;
  onProgress?: (p: HarvestProgress) => void;
}

export interface HarvestProgress {
  rows: number;
  totalRows: number;
  seconds: number;
}

export interface HarvestResult {
  out: string;
  /** Folder per hook (the out folder itself for one hook). */
  folders: Record<string, string>;
  shards: number;
  rows: number;
  /** Rows already written by an earlier, interrupted run of the same command. */
  resumedRows: number;
  seconds: number;
  tokensPerSecond: number;
}

export const HARVEST_STATE = 'harvest.json';

interface HarvestState {
  format: 1;
  settings: Record<string, unknown>;
  shardsDone: number;
  rowsDone: number;
  finished: boolean;
}

function settingsOf(o: HarvestOptions, model: LlamaModel): Record<string, unknown> {
  return {
    model: path.resolve(o.model),
    modelBytes: fs.statSync(o.model).size,
    input: path.resolve((o.text ?? o.tokens)!),
    inputKind: o.text ? `text:${o.split}` : 'tokens',
    hooks: o.hooks,
    context: o.context,
    maxTokens: o.maxTokens ?? null,
    shardRows: o.shardRows,
    excludeBos: o.excludeBos,
    dModel: model.config.dModel,
  };
}

/** Read the state of an earlier run into `out`, or null for a fresh (missing or empty) folder. */
function priorState(out: string, settings: Record<string, unknown>): HarvestState | null {
  const stateFile = path.join(out, HARVEST_STATE);
  if (!fs.existsSync(out)) return null;
  if (!fs.existsSync(stateFile)) {
    const visible = fs.readdirSync(out).filter((f) => !f.startsWith('.'));
    if (visible.length === 0) return null;
    throw new RunError(`${out}: the folder exists and is not a harvest (no ${HARVEST_STATE}; it holds ${visible.slice(0, 3).join(', ')}${visible.length > 3 ? ', ...' : ''}).`, 'Choose a new --out folder, or empty this one.');
  }
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as HarvestState;
  const diff = Object.keys(settings).filter((k) => JSON.stringify(settings[k]) !== JSON.stringify(state.settings[k]));
  if (diff.length > 0) {
    const k = diff[0]!;
    throw new RunError(`${out}: holds a harvest made with other settings (${k}: ${JSON.stringify(state.settings[k])} there, ${JSON.stringify(settings[k])} now).`, 'Run the same command to continue that harvest, or choose a new --out folder.');
  }
  return state;
}

function writeState(out: string, state: HarvestState): void {
  writeFileAtomic(path.join(out, HARVEST_STATE), JSON.stringify(state, null, 2) + '\n');
}

/** Remove temp files of an interrupted write and shards written after the last recorded one. */
function cleanUp(folder: string, shardsDone: number): void {
  for (const f of fs.readdirSync(folder)) {
    const stale = f.includes('.partial-') || (/^shard-\d{5}\.arrow$/.test(f) && Number(f.slice(6, 11)) >= shardsDone);
    if (stale) fs.rmSync(path.join(folder, f), { force: true });
  }
}

/**
 * `sae harvest`: run a GGUF model over documents and write the activations at `hooks` as Arrow
 * shards `sae train` reads. Deterministic, so an interrupted harvest continues after the last
 * complete shard (recorded in harvest.json) when the same command runs again.
 */
export async function harvest(o: HarvestOptions): Promise<HarvestResult> {
  const started = Date.now();
  await initBackend(o.backend ?? 'auto');
  const model = loadModel(o.model);
  try {
    for (const h of o.hooks) model.hook(h);
    const docs: TokenDocument[] = o.text ? readTextDocuments(o.text, model.tokenizer, o.split) : readTokenDocuments(o.tokens!, model.config.vocabSize);
    const settings = settingsOf(o, model);
    const prior = priorState(o.out, settings);
    const folders = Object.fromEntries(o.hooks.map((h) => [h, o.hooks.length === 1 ? o.out : path.join(o.out, h)]));
    try {
      for (const f of Object.values(folders)) fs.mkdirSync(f, { recursive: true });
    } catch (err) {
      throw fsError(err, o.out, 'create the output folder');
    }
    const state: HarvestState = prior ?? { format: 1, settings, shardsDone: 0, rowsDone: 0, finished: false };
    const resumedRows = state.rowsDone;
    if (state.finished) return { out: o.out, folders, shards: state.shardsDone, rows: state.rowsDone, resumedRows, seconds: 0, tokensPerSecond: 0 };
    for (const f of Object.values(folders)) cleanUp(f, state.shardsDone);
    writeState(o.out, state);

    const bos = model.tokenizer.bos;
    const isBos = (w: { tokens: Int32Array }, t: number): boolean => t === 0 && w.tokens[0] === bos;
    const rowsOf = (w: { tokens: Int32Array }): number => w.tokens.length - (o.excludeBos && isBos(w, 0) ? 1 : 0);
    let totalRows = 0;
    for (const w of windows(docs, o.context, bos)) totalRows += rowsOf(w);
    if (o.maxTokens !== undefined) totalRows = Math.min(totalRows, o.maxTokens);

    const meta = (hook: string): Record<string, string> => {
      const p = model.hook(hook);
      return {
        model: path.basename(o.model).replace(/\.gguf$/i, ''),
        model_file: path.basename(o.model),
        layer: String(p.layer),
        hook,
        hook_name: hook,
        d_model: String(model.config.dModel),
        context_size: String(o.context),
        prepend_bos: 'true',
        bos_included: String(!o.excludeBos),
        layer_indexing: '0-based transformer block index',
        tokenizer: `from the GGUF (sentencepiece, vocab ${model.config.vocabSize})`,
        source: `sae harvest of ${path.basename((o.text ?? o.tokens)!)}`,
      };
    };
    const buffers = o.hooks.map((h) => new ShardBuffer(folders[h]!, model.config.dModel, o.shardRows, meta(h), (id) => model.tokenizer.piece(id)));
    let rows = state.rowsDone;
    const flush = (): void => {
      for (const b of buffers) b.flush(state.shardsDone);
      state.shardsDone += 1;
      state.rowsDone = rows;
      writeState(o.out, state);
    };
    // Resuming: windows wholly before the resume point are skipped without running the model; the
    // window it falls in drops its first rows. (Counted here, not in the batch loop: batching reads ahead.)
    const dropRows = new Map<TokenWindow, number>();
    const toRun = (function* (): Generator<TokenWindow> {
      let skip = state.rowsDone;
      let budget = totalRows;
      for (const w of windows(docs, o.context, bos)) {
        const r = rowsOf(w);
        if (skip >= r) {
          skip -= r;
          budget -= r;
          continue;
        }
        if (budget <= 0) return;
        if (skip > 0) dropRows.set(w, skip);
        budget -= r;
        skip = 0;
        yield w;
      }
    })();
    for (const batch of batchWindows(toRun, model.config.nHeads)) {
      const { longest, acts } = await readHooks(model, batch, o.hooks);
      batch.forEach((w, i) => {
        let drop = dropRows.get(w) ?? 0;
        for (let t = 0; t < w.tokens.length && rows < totalRows; t++) {
          if (o.excludeBos && isBos(w, t)) continue;
          if (drop > 0) {
            drop--;
            continue;
          }
          buffers.forEach((b, h) => b.push(acts[h]!, (i * longest + t) * model.config.dModel, w.tokens[t]!, w.docId, t));
          rows++;
          if (buffers[0]!.full) flush();
        }
      });
      o.onProgress?.({ rows, totalRows, seconds: (Date.now() - started) / 1000 });
    }
    if (buffers[0]!.length > 0) flush();
    state.finished = true;
    writeState(o.out, state);
    const seconds = (Date.now() - started) / 1000;
    return { out: o.out, folders, shards: state.shardsDone, rows, resumedRows, seconds, tokensPerSecond: (rows - resumedRows) / seconds };
  } finally {
    model.dispose();
  }
}

export { shardName };
