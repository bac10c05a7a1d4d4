import type { Command } from 'commander';
import { z } from 'zod';
import { parseFlags } from '../flag-issues.js';
import { printJson, printText } from '../report.js';

const InspectFlags = z.object({ json: z.boolean().default(false), allTensors: z.boolean().default(false) });

export function register(program: Command): void {
  const model = program.command('model').description('Language models (GGUF) that sae runs for `sae harvest` and `sae eval --model`.');
  model
    .command('inspect <model>')
    .description('Show a GGUF model: architecture, dimensions, heads, context, tokenizer, tensors and their types, and what sae supports of it.')
    .option('--all-tensors', 'list every tensor (default: the first block and the rest)')
    .option('--json', 'print the report as JSON on stdout')
    .action(async (file: string, raw: Record<string, unknown>) => {
      const { formatModelInspection, inspectModel } = await import('../../model/inspect.js');
      const o = parseFlags(InspectFlags, raw, 'model inspect');
      const report = inspectModel(file);
      if (o.json) printJson(report);
      else printText(formatModelInspection(report, o.allTensors));
    });
}
