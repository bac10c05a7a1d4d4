import type { Command } from 'commander';
import { z } from 'zod';
import { formatIssues } from '../../config/load.js';
import { ConfigError } from '../../errors.js';
import { formatFeatureCard, formatFeatureList } from '../../eval/feature-stats-format.js';
import { FEATURE_SORT_KEYS, describeFeature, listFeatures } from '../../eval/feature-stats-view.js';
import { printJson, printText } from '../report.js';

const intString = z.string().regex(/^\d+$/, 'expected a non-negative integer').transform(Number);

const FeaturesOptions = z.strictObject({
  index: intString.optional(),
  sort: z.enum(FEATURE_SORT_KEYS).default('index'),
  limit: intString.pipe(z.number().int().positive()).optional(),
  json: z.boolean().default(false),
});

/** zod issues as lines naming the command-line flag: `--dense-threshold: Too big: ...`. */
function flagIssues(issues: Parameters<typeof formatIssues>[0], input: unknown): string {
  const flag = (key: string) => (key === 'index' ? '<index>' : `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  return formatIssues(issues, input)
    .map((line) => line.replace(/^\w+/, flag))
    .join('; ');
}

export function register(program: Command): void {
  program
    .command('features')
    .description("List a run's features with their statistics, or show one feature's card with its top examples in context.")
    .argument('<run>', 'run directory (or a features .arrow file written by `sae stats --out`)')
    .argument('[index]', 'show this feature: statistics and top activating examples, the token marked [[like this]]')
    .option('--sort <key>', `order of the list: ${FEATURE_SORT_KEYS.join(' | ')} (largest first, index ascending)`)
    .option('--limit <n>', 'show at most this many features')
    .option('--json', 'machine-readable output on stdout')
    .action((run: string, index: string | undefined, raw: Record<string, unknown>) => {
      const parsed = FeaturesOptions.safeParse({ ...raw, index });
      if (!parsed.success) {
        const input = { ...raw, index };
        throw new ConfigError(`sae features: ${flagIssues(parsed.error.issues, input)}`, 'See `sae features --help`.');
      }
      const opts = parsed.data;
      if (opts.index !== undefined) {
        const card = describeFeature(run, opts.index);
        if (opts.json) printJson(card);
        else printText(formatFeatureCard(card));
        return;
      }
      const listing = listFeatures(run, { sort: opts.sort, ...(opts.limit !== undefined ? { limit: opts.limit } : {}) });
      if (opts.json) printJson(listing);
      else printText(formatFeatureList(listing));
    });
}
