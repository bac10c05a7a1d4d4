import type { Command } from 'commander';
import { z } from 'zod';
import { parseFlags } from '../flag-issues.js';
import { printJson, printText } from '../report.js';
import { BACKEND_CHOICES, evaluateRun, formatEvalReport } from '../../index.js';

const EvalFlags = z.object({
  data: z.array(z.string().min(1)).min(1),
  groundTruth: z.string().min(1).optional(),
  selectivity: z.boolean().default(false),
  topK: z.coerce.number().int().positive().optional(),
  maxRows: z.coerce.number().int().positive().optional(),
  denseThreshold: z.coerce.number().gt(0).max(1).optional(),
  backend: z.enum(BACKEND_CHOICES).default('auto'),
  json: z.boolean().default(false),
});

export function register(program: Command): void {
  program
    .command('eval <run>')
    .description("Evaluate a run's final dictionary on activation data: reconstruction, sparsity, density and (optionally) ground-truth recovery and token selectivity.")
    .requiredOption('--data <arrow...>', 'Arrow files, folders or globs to evaluate on')
    .option('--ground-truth <file>', 'ground-truth dictionary from `sae synth` (.safetensors or .arrow): adds MMCS and matching')
    .option('--selectivity', 'compare token selectivity of SAE features with the basis directions (needs token ids)')
    .option('--top-k <n>', 'top activations per unit for --selectivity (default 50)')
    .option('--max-rows <n>', 'evaluate on at most this many rows')
    .option('--dense-threshold <f>', "density above which a feature counts as dense (default: the run's output.denseThreshold)")
    .option('--backend <name>', 'tfjs backend: auto | webgpu | tensorflow | wasm | cpu', 'auto')
    .option('--json', 'print the report as JSON on stdout')
    .action(async (run: string, raw: Record<string, unknown>) => {
      const o = parseFlags(EvalFlags, raw, 'eval');
      const report = await evaluateRun({
        run,
        data: o.data,
        selectivity: o.selectivity,
        backend: o.backend,
        ...(o.groundTruth ? { groundTruth: o.groundTruth } : {}),
        ...(o.topK ? { selectivityTopK: o.topK } : {}),
        ...(o.maxRows ? { maxRows: o.maxRows } : {}),
        ...(o.denseThreshold ? { denseThreshold: o.denseThreshold } : {}),
      });
      if (o.json) printJson(report);
      else printText(formatEvalReport(report));
    });
}
