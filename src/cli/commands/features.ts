import type { Command } from 'commander';
import { z } from 'zod';
import { parseFlags } from '../flag-issues.js';
import { printJson, printText } from '../report.js';
import { BACKEND_CHOICES } from '../../backend/choices.js';
import { FEATURE_SORT_KEYS } from '../../features/sort-keys.js';
import { ConfigError } from '../../errors.js';

const intString = z.string().regex(/^\d+$/, 'expected a non-negative integer').transform(Number);

const FeaturesOptions = z.strictObject({
  sort: z.enum(FEATURE_SORT_KEYS).default('index'),
  limit: intString.pipe(z.number().int().positive()).optional(),
  ascending: z.boolean().default(false),
  json: z.boolean().default(false),
  model: z.string().min(1).optional(),
  data: z.string().min(1).optional(),
  context: intString.pipe(z.number().int().min(2)).default(256),
  maxTokens: intString.pipe(z.number().int().positive()).default(4096),
  hook: z.string().min(1).optional(),
  backend: z.enum(BACKEND_CHOICES).default('auto'),
});

export function register(program: Command): void {
  program
    .command('features')
    .description("List a run's features with their statistics, or show one feature's card with its top examples in context.")
    .argument('<run>', 'run directory (or a features .arrow file written by `sae stats --out`)')
    .argument('[index]', 'show this feature: statistics and top activating examples, the token marked [[like this]]')
    .option('--sort <key>', `order of the list: ${FEATURE_SORT_KEYS.join(' | ')} (largest first, index ascending; density is log10 frequency: the same order)`)
    .option('--ascending', 'smallest first, e.g. --sort frequency --ascending for the rarest features')
    .option('--limit <n>', 'show at most this many features')
    .option('--json', 'machine-readable output on stdout')
    .option('--model <gguf>', "with <index>: the feature's effect on the model's output: tokens its decoder direction promotes/suppresses, and what ablating it where it fires changes")
    .option('--data <file>', "with --model: token source to measure the ablation on (Arrow with token_id/doc_id/pos, or .txt; default the run's held-out data)")
    .option('--context <n>', 'with --model: tokens per window', '256')
    .option('--max-tokens <n>', 'with --model: read about this many tokens of the data', '4096')
    .option('--hook <name>', "with --model: the hook (default: the run's)")
    .option('--backend <name>', 'with --model: tfjs backend: auto | webgpu | tensorflow | wasm | cpu', 'auto')
    .action(async (run: string, index: string | undefined, raw: Record<string, unknown>) => {
      const { formatFeatureCard, formatFeatureList } = await import('../../features/format.js');
      const { describeFeature, listFeatures } = await import('../../features/view.js');
      const opts = parseFlags(FeaturesOptions, raw, 'features');
      if (index !== undefined) {
        if (!/^\d+$/.test(index)) {
          throw new ConfigError(`sae features: <index> must be a feature number (0, 1, ...), got '${index}'.`, 'See `sae features --help`.');
        }
        const card = describeFeature(run, Number(index));
        if (!opts.model) {
          if (opts.json) printJson(card);
          else printText(formatFeatureCard(card));
          return;
        }
        // The model's modules only when asked: the card alone reads the run's files.
        const { formatFeatureEffects, featureOutputEffects } = await import('../../interventions/feature-effects.js');
        const effects = await featureOutputEffects({
          run,
          model: opts.model,
          feature: Number(index),
          context: opts.context,
          maxTokens: opts.maxTokens,
          backend: opts.backend,
          ...(opts.data ? { data: opts.data } : {}),
          ...(opts.hook ? { hook: opts.hook } : {}),
        });
        if (opts.json) printJson({ ...card, outputEffects: effects });
        else printText(`${formatFeatureCard(card)}\n${formatFeatureEffects(effects)}`);
        return;
      }
      if (opts.model) throw new ConfigError('sae features: --model needs a feature <index>: output effects are shown on one feature\'s card.', `E.g. \`sae features ${run} 42 --model m.gguf\`.`);
      const listing = listFeatures(run, { sort: opts.sort, limit: opts.limit, ascending: opts.ascending });
      if (opts.json) printJson(listing);
      else printText(formatFeatureList(listing));
    });
}
