import path from 'node:path';
import { initBackend, type BackendChoice } from '../backend/select.js';
import { ConfigError, ModelError } from '../errors.js';
import { openRun, readFinalWeights } from '../io/run-dir.js';
import { readTextDocuments, readTokenDocuments, type TextSplit, type TokenDocument } from '../model/documents.js';
import { hookNameFrom, UNKNOWN_HOOK } from '../io/saelens.js';
import type { HookPoint } from '../model/hooks.js';
import type { LlamaModel } from '../model/llama.js';
import { loadModel } from '../model/load.js';
import { SaeParams, type SaeWeights } from '../sae/params.js';

/** A language model with a run's dictionary at its hook: what every intervention works on. */
export interface InterventionSession {
  run: string;
  model: LlamaModel;
  weights: SaeWeights;
  sae: SaeParams;
  hook: HookPoint;
  dispose(): void;
}

export interface SessionOptions {
  run: string;
  model: string;
  /** Hook to edit at; default the run's (its data's metadata). */
  hook?: string;
  backend?: BackendChoice;
}

/**
 * Open a run's final dictionary and a GGUF model and check they fit: the hook exists in the model
 * and the dictionary's width is the model's width there. ModelError names both otherwise.
 */
export async function openSession(o: SessionOptions): Promise<InterventionSession> {
  await initBackend(o.backend ?? 'auto');
  const dict = readFinalWeights(o.run);
  const cfgHook = dict.cfg['hook_name'];
  const runHook = typeof cfgHook === 'string' && cfgHook.length > 0 ? cfgHook : hookNameFrom({});
  const hookName = o.hook ?? runHook;
  if (hookName === UNKNOWN_HOOK) {
    throw new ConfigError(`${o.run}: the run's data does not say which hook its activations come from.`, 'Name it with --hook blocks.L.hook_KIND (the hook the activations were harvested at).');
  }
  const model = loadModel(o.model);
  try {
    const hook = model.hook(hookName);
    if (dict.weights.d !== model.config.dModel) {
      throw new ModelError(
        `${o.model}: the model's width at ${hook.name} is ${model.config.dModel}, but the dictionary of ${o.run} has width ${dict.weights.d}.`,
        'Use the model (and hook) the dictionary was trained on.',
      );
    }
    const sae = new SaeParams(dict.weights);
    return {
      run: path.resolve(o.run),
      model,
      weights: dict.weights,
      sae,
      hook,
      dispose: () => {
        sae.dispose();
        model.dispose();
      },
    };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** The prompt's token ids (BOS first, as the model asks); ConfigError for an empty prompt. */
export function encodePrompt(model: LlamaModel, prompt: string): number[] {
  if (prompt.trim().length === 0) {
    throw new ConfigError('--prompt is empty: there is nothing for the model to read.', 'Give some text, e.g. --prompt "Once upon a time".');
  }
  return model.tokenizer.encode(prompt);
}

/** Documents of a token source: a UTF-8 text file (.txt, one document per line or paragraph) or an Arrow file with token_id/doc_id/pos. */
export function readDocuments(file: string, model: LlamaModel, split: TextSplit = 'lines'): TokenDocument[] {
  return /\.(txt|text)$/i.test(file) ? readTextDocuments(file, model.tokenizer, split) : readTokenDocuments(file, model.config.vocabSize);
}

/** The run's held-out data (else its training data): where its features fired during training. */
export function runDataFile(run: string): string {
  const data = (openRun(run).config as { data?: { eval?: unknown; train?: unknown } } | null)?.data;
  const first = (v: unknown): string | undefined => (Array.isArray(v) && typeof v[0] === 'string' ? v[0] : typeof v === 'string' ? v : undefined);
  const file = first(data?.eval) ?? first(data?.train);
  if (!file) throw new ConfigError(`${run}: its config names no data to measure on.`, 'Pass a token source with --data (an Arrow file with token_id/doc_id/pos, or a .txt file).');
  return file;
}
