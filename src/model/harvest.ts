import fs from 'node:fs';
import path from 'node:path';
import { initBackend, type BackendChoice } from '../backend/select.js';
import { RunError } from '../errors.js';
import { fsError, writeFileAtomic } from '../io/atomic.js';
import { batchWindows, readHooks } from './batches.js';
import { compareActivations, type ActivationComparison } from './compare-activations.js';
import { readTextDocuments, readTokenDocuments, type TextSplit, type TokenDocument, type TokenWindow } from './documents.js';
import { planHarvest, type HarvestJob, type HarvestSplit, type SplitCounts } from './harvest-split.js';
import { ShardBuffer, shardName } from './harvest-shards.js';
import { openForwardPool, type ForwardPool } from './fast/pool.js';
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
  /** Fraction of documents (whole, chosen by a seeded hash of doc_id) written to `eval/` instead. */
  evalFraction: number;
  backend?: BackendChoice;
  /**
   * Worker threads for the forward pass (each a part of every batch; 'auto': the available cores,
   * capped); 1 (the default) runs it on this thread. The activations are bit-identical either way.
   */
  threads?: number | 'auto';
  /**
   * An activation dump of the same documents (Arrow file or folder with doc_id/pos) to compare the
   * harvest of the first hook with, row by row, at the end (compare-activations.ts).
   */
  compare?: string;
  onProgress?: (p: HarvestProgress) => void;
}

export interface HarvestProgress {
  rows: number;
  totalRows: number;
  seconds: number;
}

export interface HarvestResult {
  out: string;
  /** Folder per hook (the out folder itself for one hook); the eval split is its `eval/` subfolder. */
  folders: Record<string, string>;
  evalFraction: number;
  /** Documents and rows of each split (the whole harvest, resumed part included). */
  splits: Record<HarvestSplit, SplitCounts>;
  shards: number;
  rows: number;
  /** Rows already written by an earlier, interrupted run of the same command. */
  resumedRows: number;
  seconds: number;
  tokensPerSecond: number;
  /** Threads the forward pass ran on. */
  threads: number;
  /** With `compare`: how the first hook's activations (train and eval shards) agree with it. */
  comparison?: ActivationComparison & { with: string };
}

export const HARVEST_STATE = 'harvest.json';

interface HarvestState {
  format: 1;
  settings: Record<string, unknown>;
  /** Shards written to the train folder (the hook folder itself) and to its eval/ subfolder. */
  shardsDone: number;
  evalShardsDone: number;
  /** Rows written, counted along the train-then-eval stream. */
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
    evalFraction: o.evalFraction,
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
  // Harvests made before --eval-fraction existed had none.
  state.settings = { evalFraction: 0, ...state.settings };
  state.evalShardsDone ??= 0;
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
  let pool: ForwardPool | null = null;
  try {
    for (const h of o.hooks) model.hook(h);
    const docs: TokenDocument[] = o.text ? readTextDocuments(o.text, model.tokenizer, o.split) : readTokenDocuments(o.tokens!, model.config.vocabSize);
    const settings = settingsOf(o, model);
    const prior = priorState(o.out, settings);
    const folders = Object.fromEntries(o.hooks.map((h) => [h, o.hooks.length === 1 ? o.out : path.join(o.out, h)]));
    const folderOf = (h: string, split: HarvestSplit): string => (split === 'train' ? folders[h]! : path.join(folders[h]!, 'eval'));
    const splitsUsed: HarvestSplit[] = o.evalFraction > 0 ? ['train', 'eval'] : ['train'];
    try {
      for (const h of o.hooks) for (const s of splitsUsed) fs.mkdirSync(folderOf(h, s), { recursive: true });
    } catch (err) {
      throw fsError(err, o.out, 'create the output folder');
    }
    const bos = model.tokenizer.bos;
    const isBos = (w: { tokens: Int32Array }, t: number): boolean => t === 0 && w.tokens[0] === bos;
    const rowsOf = (w: { tokens: Int32Array }): number => w.tokens.length - (o.excludeBos && isBos(w, 0) ? 1 : 0);
    const plan = planHarvest(docs, o.context, bos, rowsOf, o.evalFraction, o.maxTokens);
    const totalRows = plan.totalRows;

    const state: HarvestState = prior ?? { format: 1, settings, shardsDone: 0, evalShardsDone: 0, rowsDone: 0, finished: false };
    const resumedRows = state.rowsDone;
    const result = (rows: number, seconds: number): HarvestResult => ({
      out: o.out,
      folders,
      evalFraction: o.evalFraction,
      splits: plan.counts,
      shards: state.shardsDone + state.evalShardsDone,
      rows,
      resumedRows,
      seconds,
      tokensPerSecond: seconds > 0 ? (rows - resumedRows) / seconds : 0,
      threads: pool?.threads ?? 1,
    });
    const compared = async (r: HarvestResult): Promise<HarvestResult> => {
      if (!o.compare) return r;
      const shards = splitsUsed.map((s) => path.join(folderOf(o.hooks[0]!, s), 'shard-*.arrow'));
      return { ...r, comparison: { with: o.compare, ...(await compareActivations(shards, [o.compare])) } };
    };
    if (state.finished) return await compared(result(state.rowsDone, 0));
    for (const h of o.hooks) {
      cleanUp(folderOf(h, 'train'), state.shardsDone);
      if (o.evalFraction > 0) cleanUp(folderOf(h, 'eval'), state.evalShardsDone);
    }
    writeState(o.out, state);

    const meta = (hook: string, split: HarvestSplit): Record<string, string> => {
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
        split,
        eval_fraction: String(o.evalFraction),
      };
    };
    const piece = (id: number): string => model.tokenizer.piece(id);
    const buffers: Record<HarvestSplit, ShardBuffer[]> = {
      train: o.hooks.map((h) => new ShardBuffer(folderOf(h, 'train'), model.config.dModel, o.shardRows, meta(h, 'train'), piece)),
      eval: o.evalFraction > 0 ? o.hooks.map((h) => new ShardBuffer(folderOf(h, 'eval'), model.config.dModel, o.shardRows, meta(h, 'eval'), piece)) : [],
    };
    let rows = state.rowsDone;
    const flush = (split: HarvestSplit): void => {
      if (buffers[split][0]!.length === 0) return;
      for (const b of buffers[split]) b.flush(split === 'train' ? state.shardsDone : state.evalShardsDone);
      if (split === 'train') state.shardsDone += 1;
      else state.evalShardsDone += 1;
      state.rowsDone = rows;
      writeState(o.out, state);
    };
    // Resuming: windows wholly before the resume point are skipped without running the model; the
    // window it falls in drops its first rows. (Counted here, not in the batch loop: batching reads ahead.)
    const jobOf = new Map<TokenWindow, HarvestJob>();
    const dropRows = new Map<TokenWindow, number>();
    const toRun = (function* (): Generator<TokenWindow> {
      let skip = state.rowsDone;
      for (const job of plan.jobs) {
        if (skip >= job.rows) {
          skip -= job.rows;
          continue;
        }
        if (skip > 0) dropRows.set(job.window, skip);
        skip = 0;
        jobOf.set(job.window, job);
        yield job.window;
      }
    })();
    pool = await openForwardPool(model, o.threads ?? 1);
    const read = (batch: TokenWindow[]): Promise<{ longest: number; acts: Float32Array[] }> => (pool ? pool.readHooks(batch, o.hooks) : readHooks(model, batch, o.hooks));
    const batches = batchWindows(toRun, model.config.nHeads);
    // One batch in flight ahead: the workers compute it while this thread writes the last one's rows.
    const ahead = (): { batch: TokenWindow[]; result: Promise<{ longest: number; acts: Float32Array[] }> } | null => {
      const next = batches.next();
      if (next.done) return null;
      const result = read(next.value);
      result.catch(() => {}); // awaited below; an error thrown meanwhile must not also be unhandled
      return { batch: next.value, result };
    };
    for (let next = ahead(); next; ) {
      const { batch } = next;
      const { longest, acts } = await next.result;
      next = ahead();
      batch.forEach((w, i) => {
        const job = jobOf.get(w)!;
        // The stream holds every train window before the first eval one: the train split ends here.
        if (job.split === 'eval') flush('train');
        let drop = dropRows.get(w) ?? 0;
        for (let t = 0, kept = 0; t < w.tokens.length && kept < job.rows; t++) {
          if (o.excludeBos && isBos(w, t)) continue;
          kept++;
          if (drop > 0) {
            drop--;
            continue;
          }
          buffers[job.split].forEach((b, h) => b.push(acts[h]!, (i * longest + t) * model.config.dModel, w.tokens[t]!, w.docId, t));
          rows++;
          if (buffers[job.split][0]!.full) flush(job.split);
        }
        jobOf.delete(w);
      });
      o.onProgress?.({ rows, totalRows, seconds: (Date.now() - started) / 1000 });
    }
    for (const s of splitsUsed) flush(s);
    state.finished = true;
    writeState(o.out, state);
    return await compared(result(rows, (Date.now() - started) / 1000));
  } finally {
    await pool?.dispose();
    model.dispose();
  }
}

export { shardName };
