import type { Command } from 'commander';
import { z } from 'zod';
import { parseFlags } from '../flag-issues.js';
import { log, printJson, printText } from '../report.js';
import { BACKEND_CHOICES } from '../../backend/choices.js';

const int = z.string().regex(/^\d+$/, 'expected a non-negative integer').transform(Number);
const fraction = z.string().regex(/^[0-9.eE+-]+$/, 'expected a number').transform(Number).pipe(z.number().min(0).max(1));

const StatsOptions = z.strictObject({
  data: z.array(z.string().min(1)).min(1),
  out: z.string().min(1).optional(),
  topK: int.optional(),
  context: int.optional(),
  denseThreshold: fraction.pipe(z.number().gt(0)).optional(),
  deadThreshold: fraction.optional(),
  maxRows: int.pipe(z.number().positive()).optional(),
  column: z.string().min(1).optional(),
  backend: z.enum(BACKEND_CHOICES).optional(),
  force: z.boolean().default(false),
  json: z.boolean().default(false),
});

export function register(program: Command): void {
  program
    .command('stats')
    .description("Compute per-feature statistics of a run's dictionary over an activation dump (one pass); writes --out FILE.arrow (+ .json), or with --force replaces the run's features.arrow + features.json.")
    .argument('<run>', 'run directory with a final dictionary')
    .requiredOption('--data <arrow...>', 'activations: Arrow files, directories or globs')
    .option('--out <file>', 'write the table to this .arrow file (summary beside it as .json) instead of into the run')
    .option('--top-k <n>', 'top activating examples kept per feature (default: the run config, output.topK)')
    .option('--context <n>', 'tokens of context on each side of an example (default: output.contextTokens)')
    .option('--dense-threshold <p>', 'flag a feature dense above this firing frequency (default: output.denseThreshold)')
    .option('--dead-threshold <p>', 'flag a feature dead at or below this firing frequency (default 0: never fired)')
    .option('--max-rows <n>', 'use at most this many rows')
    .option('--column <name>', 'activation column (default: the run config, data.column)')
    .option('--backend <name>', 'tfjs backend: auto | webgpu | tensorflow | wasm | cpu')
    .option('--force', "without --out: replace the run's features.arrow/features.json")
    .option('--json', 'print the summary as JSON on stdout')
    .action(async (run: string, raw: Record<string, unknown>) => {
      const { formatStatsSummary } = await import('../../features/format.js');
      const { computeRunFeatureStats } = await import('../../features/run.js');
      const o = parseFlags(StatsOptions, raw, 'stats');
      let lastLog = Date.now();
      const result = await computeRunFeatureStats({
        run,
        data: o.data,
        out: o.out,
        topK: o.topK,
        contextTokens: o.context,
        denseThreshold: o.denseThreshold,
        deadThreshold: o.deadThreshold,
        maxRows: o.maxRows,
        column: o.column,
        backend: o.backend,
        force: o.force,
        onProgress: (rows, total) => {
          if (Date.now() - lastLog < 2000) return;
          lastLog = Date.now();
          log(`stats: ${rows}/${total} rows`);
        },
      });
      if (result.source.note) log(`note: ${result.source.note}`);
      if (o.json) printJson(result);
      else printText(formatStatsSummary(result));
    });
}
