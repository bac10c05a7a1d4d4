import type { Command } from 'commander';
import { z } from 'zod';
import { parseFlags } from '../flag-issues.js';
import { printJson, printText } from '../report.js';
import { BACKEND_CHOICES } from '../../backend/choices.js';
import { EDIT_POSITIONS } from '../../interventions/edit-positions.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

const SteerFlags = z.object({
  model: z.string().min(1),
  run: z.string().min(1),
  prompt: z.string(),
  tokens: z.coerce.number().int().positive().default(64),
  set: z.array(z.string()).default([]),
  scale: z.array(z.string()).default([]),
  ablate: z.array(z.string()).default([]),
  add: z.array(z.string()).default([]),
  positions: z.enum(EDIT_POSITIONS).default('all'),
  includeBos: z.boolean().default(false),
  temperature: z.coerce.number().min(0).default(0),
  seed: z.coerce.number().int().default(1),
  compare: z.boolean().default(false),
  hook: z.string().min(1).optional(),
  backend: z.enum(BACKEND_CHOICES).default('auto'),
  json: z.boolean().default(false),
});

export function register(program: Command): void {
  program
    .command('steer')
    .description("Generate text with SAE features edited at the run's hook (error term kept): clamp, scale, ablate or add features.")
    .requiredOption('--model <gguf>', 'the GGUF model the run was trained on')
    .requiredOption('--run <dir>', 'run directory with a final dictionary')
    .requiredOption('--prompt <text>', 'text to continue')
    .option('--tokens <n>', 'tokens to generate', '64')
    .option('--set <I=V>', "clamp feature I's activation to V (repeatable)", collect)
    .option('--scale <I=K>', "multiply feature I's activation by K (repeatable)", collect)
    .option('--ablate <I>', "set feature I's activation to 0 (repeatable)", collect)
    .option('--add <I=C>', "add C times feature I's decoder direction (repeatable)", collect)
    .option('--positions <where>', `where edits apply: ${EDIT_POSITIONS.join(' | ')}`, 'all')
    .option('--include-bos', 'edit BOS positions too (left alone by default)')
    .option('--temperature <t>', '0 = greedy; else sample from softmax(logits / t)', '0')
    .option('--seed <n>', 'seed for sampling', '1')
    .option('--compare', 'also generate without edits (same seed), with the per-position KL over the prompt')
    .option('--hook <name>', "hook to edit at (default: the run's)")
    .option('--backend <name>', 'tfjs backend: auto | webgpu | tensorflow | wasm | cpu', 'auto')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (raw: Record<string, unknown>) => {
      const { formatSteer, steer } = await import('../../interventions/steer.js');
      const { parseEdits } = await import('../../interventions/edits.js');
      const o = parseFlags(SteerFlags, raw, 'steer');
      const result = await steer({ ...o, edits: parseEdits(o), ...(o.hook ? { hook: o.hook } : {}) });
      if (o.json) printJson(result);
      else printText(formatSteer(result));
    });
}
