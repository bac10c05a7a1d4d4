import type { Command } from 'commander';
import { z } from 'zod';
import { parseFlags } from '../flag-issues.js';
import { THREADS_HELP, ThreadsFlag } from '../threads-flag.js';
import { tokenProgress } from '../token-progress.js';
import { log, printJson, printText } from '../report.js';
import { BACKEND_CHOICES } from '../../backend/choices.js';
import { ConfigError } from '../../errors.js';

const EvalFlags = z.object({
  data: z.array(z.string().min(1)).min(1),
  groundTruth: z.string().min(1).optional(),
  selectivity: z.boolean().default(false),
  topK: z.coerce.number().int().positive().optional(),
  maxRows: z.coerce.number().int().positive().optional(),
  denseThreshold: z.coerce.number().gt(0).max(1).optional(),
  backend: z.enum(BACKEND_CHOICES).default('auto'),
  column: z.string().min(1).optional(),
  json: z.boolean().default(false),
  model: z.string().min(1).optional(),
  hook: z.string().min(1).optional(),
  context: z.coerce.number().int().min(2).default(256),
  maxTokens: z.coerce.number().int().positive().optional(),
  includeBos: z.boolean().default(false),
  split: z.enum(['lines', 'paragraphs']).default('lines'),
  interventions: z.boolean().default(false),
  interventionPositions: z.coerce.number().int().positive().default(32),
  seed: z.coerce.number().int().default(1),
  threads: ThreadsFlag,
});

export function register(program: Command): void {
  program
    .command('eval <run>')
    .description("Evaluate a run's final dictionary on activation data: reconstruction, sparsity, density and (optionally) ground-truth recovery and token selectivity.")
    .requiredOption('--data <arrow...>', 'Arrow files, folders or globs to evaluate on; with --model, one token source (Arrow with token_id/doc_id/pos, or a .txt file)')
    .option('--ground-truth <file>', 'ground-truth dictionary from `sae synth` (.safetensors or .arrow): adds MMCS and matching')
    .option('--selectivity', 'compare token selectivity of SAE features with the basis directions (needs token ids)')
    .option('--top-k <n>', 'top activations per unit for --selectivity (default 50)')
    .option('--max-rows <n>', 'evaluate on at most this many rows')
    .option('--dense-threshold <f>', "density above which a feature counts as dense (default: the run's output.denseThreshold)")
    .option('--backend <name>', 'tfjs backend: auto | webgpu | tensorflow | wasm | cpu', 'auto')
    .option('--column <name>', 'activation column (default: the run config, data.column)')
    .option('--json', 'print the report as JSON on stdout')
    .option('--model <gguf>', "downstream metrics: splice the dictionary into this GGUF model at the run's hook (CE, ceLossScore, KL)")
    .option('--hook <name>', "with --model: hook to splice at (default: the run's, from its data's metadata)")
    .option('--context <n>', 'with --model: tokens per window', '256')
    .option('--max-tokens <n>', 'with --model: evaluate about this many tokens')
    .option('--include-bos', 'with --model: splice and count BOS positions too (excluded by default, as SAELens does)')
    .option('--split <how>', 'with --model and a .txt file: documents are lines | paragraphs', 'lines')
    .option('--interventions', 'with --model: also compare single SAE features with single basis directions as handles (how concentrated the effect of ablating one is on the next-token distribution)')
    .option('--intervention-positions <n>', 'with --interventions: positions sampled for interventions', '32')
    .option('--seed <n>', 'with --interventions: seed for sampling the positions', '1')
    .option('--threads <n>', `with --model: ${THREADS_HELP}`, 'auto')
    .action(async (run: string, raw: Record<string, unknown>) => {
      const o = parseFlags(EvalFlags, raw, 'eval');
      if (o.interventions && !o.model) throw new ConfigError('sae eval --interventions needs --model: the interventions run the language model.', `E.g. \`sae eval ${run} --model m.gguf --data held-out.arrow --interventions\`.`);
      if (o.model) {
        const { evaluateRunWithModel, formatModelEval } = await import('../../eval/evaluate-model.js');
        const { compareHandles, formatHandles } = await import('../../interventions/handles.js');
        const bar = tokenProgress('eval');
        const report = await evaluateRunWithModel(run, {
          model: o.model,
          data: o.data[0]!,
          split: o.split,
          context: o.context,
          includeBos: o.includeBos,
          backend: o.backend,
          threads: o.threads,
          ...(o.hook ? { hook: o.hook } : {}),
          ...(o.maxTokens ? { maxTokens: o.maxTokens } : {}),
          onProgress: (done, total, s) => bar.update(done, total, s),
        });
        bar.done();
        const handles = o.interventions
          ? await compareHandles({
              run,
              model: o.model,
              data: o.data[0]!,
              split: o.split,
              context: o.context,
              positions: o.interventionPositions,
              seed: o.seed,
              backend: o.backend,
              ...(o.hook ? { hook: o.hook } : {}),
              ...(o.maxTokens ? { maxTokens: o.maxTokens } : {}),
            })
          : null;
        if (o.json) printJson(handles ? { ...report, interventions: handles } : report);
        else printText(handles ? `${formatModelEval(report)}\n${formatHandles(handles)}` : formatModelEval(report));
        return;
      }
      const { evaluateRun } = await import('../../eval/evaluate.js');
      const { formatEvalReport } = await import('../../eval/evaluate-format.js');
      const report = await evaluateRun({
        run,
        data: o.data,
        selectivity: o.selectivity,
        backend: o.backend,
        ...(o.groundTruth ? { groundTruth: o.groundTruth } : {}),
        ...(o.topK ? { selectivityTopK: o.topK } : {}),
        ...(o.maxRows ? { maxRows: o.maxRows } : {}),
        ...(o.denseThreshold ? { denseThreshold: o.denseThreshold } : {}),
        ...(o.column ? { column: o.column } : {}),
      });
      if (report.source.note) log(`note: ${report.source.note}`);
      if (o.json) printJson(report);
      else printText(formatEvalReport(report));
    });
}
