import type { Command } from 'commander';
import { z } from 'zod';
import { parseFlags } from '../flag-issues.js';
import { printJson, printText } from '../report.js';
import { BACKEND_CHOICES } from '../../backend/choices.js';

const AttributeFlags = z.object({
  model: z.string().min(1),
  run: z.string().min(1),
  prompt: z.string(),
  target: z.string().optional(),
  top: z.coerce.number().int().positive().default(20),
  includeBos: z.boolean().default(false),
  hook: z.string().min(1).optional(),
  backend: z.enum(BACKEND_CHOICES).default('auto'),
  json: z.boolean().default(false),
});

export function register(program: Command): void {
  program
    .command('attribute')
    .description("Which SAE features at the run's hook drive the model's next-token prediction: activation x gradient for every active feature, the top ones measured by ablation.")
    .requiredOption('--model <gguf>', 'the GGUF model the run was trained on')
    .requiredOption('--run <dir>', 'run directory with a final dictionary')
    .requiredOption('--prompt <text>', 'the text whose next token to explain')
    .option('--target <token>', "the next token to explain, as text with its leading space (default: the model's top token)")
    .option('--top <n>', 'rows to show and measure', '20')
    .option('--include-bos', 'consider features at BOS positions too')
    .option('--hook <name>', "hook to attribute at (default: the run's)")
    .option('--backend <name>', 'tfjs backend: auto | webgpu | tensorflow | wasm | cpu', 'auto')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (raw: Record<string, unknown>) => {
      const { attribute } = await import('../../interventions/attribute.js');
      const { formatAttribution } = await import('../../interventions/attribute-format.js');
      const o = parseFlags(AttributeFlags, raw, 'attribute');
      const result = await attribute({ ...o, ...(o.hook ? { hook: o.hook } : {}), ...(o.target !== undefined ? { target: o.target } : {}) });
      if (o.json) printJson(result);
      else printText(formatAttribution(result));
    });
}
