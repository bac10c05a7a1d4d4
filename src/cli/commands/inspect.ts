import type { Command } from 'commander';
import { z } from 'zod';
import { printJson, printText } from '../report.js';
import { ConfigError } from '../../errors.js';

const InspectOptions = z.strictObject({
  column: z.string().min(1).default('activation'),
  tokenIdColumn: z.string().min(1).default('token_id'),
  tokenColumn: z.string().min(1).default('token'),
  docIdColumn: z.string().min(1).default('doc_id'),
  posColumn: z.string().min(1).default('pos'),
  json: z.boolean().default(false),
});

export function register(program: Command): void {
  program
    .command('inspect')
    .description('Show what the data layer sees in activation files before training: format, schema, width, rows, norms, NaN/Inf rows.')
    .argument('<inputs...>', 'Arrow IPC files, directories or globs')
    .option('--column <name>', 'activation column', 'activation')
    .option('--token-id-column <name>', 'token id column', 'token_id')
    .option('--token-column <name>', 'token text column', 'token')
    .option('--doc-id-column <name>', 'document id column', 'doc_id')
    .option('--pos-column <name>', 'position column', 'pos')
    .option('--json', 'print the report as JSON on stdout')
    .action(async (inputs: string[], raw: Record<string, unknown>) => {
      const { formatIssues } = await import('../../config/load.js');
      const { formatInspect } = await import('../../data/inspect-format.js');
      const { inspectData } = await import('../../data/inspect.js');
      const parsed = InspectOptions.safeParse(raw);
      if (!parsed.success) throw new ConfigError(`sae inspect: ${formatIssues(parsed.error.issues, raw).join('; ')}`, 'See `sae inspect --help`.');
      const o = parsed.data;
      const report = await inspectData(inputs, {
        column: o.column,
        columns: { tokenId: o.tokenIdColumn, token: o.tokenColumn, docId: o.docIdColumn, pos: o.posColumn },
      });
      if (o.json) printJson(report);
      else printText(formatInspect(report));
    });
}
