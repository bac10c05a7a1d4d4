import path from 'node:path';
import * as tf from '../backend/tfjs.js';
import type { BackendChoice } from '../backend/select.js';
import { ConfigError } from '../errors.js';
import { decode } from '../model/generate.js';
import { Rng } from '../util/rng.js';
import { checkEdits, describeEdits, type FeatureEdit } from './edits.js';
import { editHooks, editMask, type EditPositions } from './hooks.js';
import { klRows } from './kl.js';
import { sampleToken } from './sample.js';
import { encodePrompt, openSession, type InterventionSession } from './session.js';

export interface SteerOptions {
  run: string;
  model: string;
  prompt: string;
  /** Tokens to generate after the prompt (fewer when the model ends the text). */
  tokens: number;
  edits: FeatureEdit[];
  positions: EditPositions;
  /** Edit BOS positions too. */
  includeBos: boolean;
  /** 0: greedy; else sample from softmax(logits / temperature) seeded with `seed`. */
  temperature: number;
  seed: number;
  /** Also generate without edits (same seed) and compare the prompt's next-token distributions. */
  compare: boolean;
  hook?: string;
  backend?: BackendChoice;
}

export interface Continuation {
  /** Prompt and continuation as text. */
  text: string;
  /** The generated token ids and their pieces. */
  ids: number[];
  pieces: string[];
}

export interface PositionKl {
  position: number;
  token: string;
  /** KL(unsteered || steered) of the next-token distribution at this position, nats. */
  kl: number;
}

export interface SteerResult {
  run: string;
  model: string;
  hook: string;
  prompt: string;
  promptTokens: string[];
  edits: FeatureEdit[];
  positions: EditPositions;
  includeBos: boolean;
  temperature: number;
  seed: number;
  steered: Continuation;
  unsteered: Continuation | null;
  promptKl: PositionKl[] | null;
}

/** Continue `prompt` for `o.tokens` tokens with `edits` at the hook, through a KV cache. */
function continueEdited(s: InterventionSession, prompt: number[], o: SteerOptions, edits: readonly FeatureEdit[]): Promise<number[]> {
  const { model } = s;
  const rng = new Rng(o.seed);
  return decode(model, prompt, o.tokens, {
    pick: (logits) => sampleToken(logits, o.temperature, rng),
    options: (input, past) => ({ hooks: editHooks(s.sae, s.hook.name, edits, editMask(input, past, prompt.length, o.positions, model.tokenizer.bos, o.includeBos)) }),
  });
}

/** KL(plain || edited) of the next-token distribution at every prompt position. */
async function promptKl(s: InterventionSession, prompt: number[], o: SteerOptions): Promise<PositionKl[]> {
  const mask = editMask(prompt, 0, prompt.length, o.positions, s.model.tokenizer.bos, o.includeBos);
  const kl = tf.tidy(() => {
    const tokens = tf.tensor2d(prompt, [1, prompt.length], 'int32');
    const logP = (hooks: ReturnType<typeof editHooks>) => tf.logSoftmax(tf.squeeze(s.model.forward(tokens, { hooks })!, [0])) as tf.Tensor2D;
    return klRows(logP({}), logP(editHooks(s.sae, s.hook.name, o.edits, mask)));
  });
  const values = await kl.data();
  kl.dispose();
  return prompt.map((id, p) => ({ position: p, token: s.model.tokenizer.piece(id), kl: Math.max(0, values[p]!) }));
}

function continuation(s: InterventionSession, prompt: number[], ids: number[]): Continuation {
  return { text: s.model.tokenizer.decode([...prompt, ...ids]), ids, pieces: ids.map((id) => s.model.tokenizer.piece(id)) };
}

/** `sae steer`: generate from a prompt with feature edits at the run's hook. */
export async function steer(o: SteerOptions): Promise<SteerResult> {
  if (!Number.isInteger(o.tokens) || o.tokens < 1) throw new ConfigError(`--tokens ${o.tokens}: expected a positive whole number of tokens to generate.`, 'E.g. --tokens 64.');
  if (!(o.temperature >= 0)) throw new ConfigError(`--temperature ${o.temperature}: expected 0 (greedy) or a positive number.`, 'E.g. --temperature 0.8 --seed 1.');
  const s = await openSession(o);
  try {
    checkEdits(o.edits, s.weights.m, o.run);
    const prompt = encodePrompt(s.model, o.prompt);
    const steered = await continueEdited(s, prompt, o, o.edits);
    const unsteered = o.compare ? await continueEdited(s, prompt, o, []) : null;
    return {
      run: o.run,
      model: o.model,
      hook: s.hook.name,
      prompt: o.prompt,
      promptTokens: prompt.map((id) => s.model.tokenizer.piece(id)),
      edits: o.edits,
      positions: o.positions,
      includeBos: o.includeBos,
      temperature: o.temperature,
      seed: o.seed,
      steered: continuation(s, prompt, steered),
      unsteered: unsteered ? continuation(s, prompt, unsteered) : null,
      promptKl: o.compare ? await promptKl(s, prompt, o) : null,
    };
  } finally {
    s.dispose();
  }
}

/** Human-readable steering result. */
export function formatSteer(r: SteerResult): string {
  const sampling = r.temperature === 0 ? 'greedy' : `temperature ${r.temperature}, seed ${r.seed}`;
  const lines = [
    `${r.hook} of ${path.basename(r.model)}, dictionary ${r.run}: ${describeEdits(r.edits)} at ${r.positions} positions (BOS ${r.includeBos ? 'edited' : 'left alone'}), ${sampling}`,
    `prompt: ${r.promptTokens.length} tokens`,
  ];
  if (r.unsteered) lines.push(`unsteered: ${r.unsteered.text}`);
  lines.push(`steered:   ${r.steered.text}`);
  if (r.promptKl) {
    lines.push("KL(unsteered || steered) of the next-token distribution at each prompt position (nats):");
    for (const k of r.promptKl) lines.push(`  ${String(k.position).padStart(3)}  ${JSON.stringify(k.token).padEnd(14)} ${k.kl.toFixed(4)}`);
  }
  return lines.join('\n');
}
