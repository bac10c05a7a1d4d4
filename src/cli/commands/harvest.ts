import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { parseFlags } from '../flag-issues.js';
import { log, printJson } from '../report.js';
import { THREADS_HELP, ThreadsFlag } from '../threads-flag.js';
import { tokenProgress } from '../token-progress.js';
import { ConfigError } from '../../errors.js';

const HarvestFlags = z.object({
  model: z.string().min(1),
  text: z.string().min(1).optional(),
  tokens: z.string().min(1).optional(),
  split: z.enum(['lines', 'paragraphs']).default('lines'),
  hook: z.array(z.string().min(1)).min(1),
  context: z.coerce.number().int().min(2).default(256),
  out: z.string().min(1),
  maxTokens: z.coerce.number().int().positive().optional(),
  shardRows: z.coerce.number().int().positive().default(65536),
  excludeBos: z.boolean().default(false),
  evalFraction: z.coerce.number().min(0).lt(1).default(0),
  backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  compare: z.string().min(1).optional(),
  threads: ThreadsFlag,
  json: z.boolean().default(false),
});

export function register(program: Command): void {
  program
    .command('harvest')
    .description('Run a GGUF language model over text or token ids and write the activations at a hook as Arrow shards `sae train` reads. Running the same command again continues an interrupted harvest.')
    .requiredOption('--model <file>', 'GGUF model (llama architecture)')
    .option('--text <file>', 'UTF-8 text: one document per line (or per paragraph with --split paragraphs)')
    .option('--tokens <file>', 'Arrow file with token_id, doc_id, pos columns (e.g. an earlier harvest)')
    .option('--split <how>', 'documents of --text: lines | paragraphs (blank-line separated)', 'lines')
    .requiredOption('--hook <name...>', 'hook point(s), e.g. blocks.2.hook_resid_post; several in one pass write one folder each')
    .option('--context <n>', 'tokens per window; longer documents continue in new windows that start with BOS', '256')
    .requiredOption('--out <dir>', 'output folder (shard-00000.arrow, ..., harvest.json)')
    .option('--max-tokens <n>', 'stop after this many rows')
    .option('--shard-rows <n>', 'rows per shard file', '65536')
    .option('--exclude-bos', 'leave BOS positions out')
    .option('--eval-fraction <f>', 'hold out this fraction of the documents (whole, by a seeded hash of doc_id) as shards in <out>/eval/', '0')
    .option('--backend <name>', 'tfjs backend: auto | tensorflow | wasm | cpu', 'auto')
    .option('--compare <file>', 'afterwards, compare the (first) hook\'s activations row by row, matched by doc_id and pos, with this Arrow file or folder (e.g. the dump the token ids came from)')
    .option('--threads <n>', THREADS_HELP, 'auto')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (raw: Record<string, unknown>) => {
      const { formatComparison } = await import('../../model/compare-activations.js');
      const { harvest } = await import('../../model/harvest.js');
      const o = parseFlags(HarvestFlags, raw, 'harvest');
      if ((o.text === undefined) === (o.tokens === undefined)) throw new ConfigError('sae harvest: pass exactly one of --text and --tokens.', 'See `sae harvest --help`.');
      const bar = tokenProgress('harvest');
      const r = await harvest({
        model: o.model,
        ...(o.text ? { text: o.text } : { tokens: o.tokens! }),
        split: o.split,
        hooks: o.hook,
        context: o.context,
        out: o.out,
        ...(o.maxTokens ? { maxTokens: o.maxTokens } : {}),
        shardRows: o.shardRows,
        excludeBos: o.excludeBos,
        evalFraction: o.evalFraction,
        backend: o.backend,
        threads: o.threads,
        ...(o.compare ? { compare: o.compare } : {}),
        onProgress: (p) => bar.update(p.rows, p.totalRows, p.seconds),
      });
      bar.done();
      if (o.json) return printJson(r);
      if (r.resumedRows === r.rows) log(`${r.out}: harvest already complete (${r.rows} rows in ${r.shards} shards).`);
      else log(`wrote ${r.rows} rows in ${r.shards} shard(s) to ${Object.values(r.folders).join(', ')}${r.resumedRows ? ` (continued after ${r.resumedRows} rows)` : ''}, ${Math.round(r.tokensPerSecond)} tokens/s`);
      if (r.comparison) log(formatComparison(r.comparison));
      if (r.evalFraction > 0) {
        const { train, eval: held } = r.splits;
        log(`split (--eval-fraction ${r.evalFraction}, whole documents): train ${train.documents} documents / ${train.rows} tokens, eval ${held.documents} documents / ${held.rows} tokens`);
        for (const [hook, folder] of Object.entries(r.folders)) {
          const glob = (f: string): string => path.join(f, '*.arrow');
          log(`config for ${hook} (for a config file in the current folder): "data": { "train": ${JSON.stringify(glob(folder))}, "eval": ${JSON.stringify(glob(path.join(folder, 'eval')))} }`);
        }
      }
    });
}
