import type { Command } from 'commander';
import { progressRenderer } from '../progress-bar.js';
import { log } from '../report.js';
import { stopOnSignals } from '../signals.js';
import { BACKEND_CHOICES, type BackendChoice, loadConfig, ConfigError, formatDuration, formatProgressLine, train } from '../../index.js';

interface TrainOptions {
  config?: string;
  resume?: string;
  out?: string;
  set: string[];
  backend?: BackendChoice;
  seed?: string;
  force?: boolean;
}

export function register(program: Command): void {
  program
    .command('train')
    .description('Train an SAE on Arrow activation dumps as a config file describes; writes a run directory.')
    .option('-c, --config <file>', 'JSON config file (see configs/schema.json)')
    .option('--resume <run>', 'continue the run in this directory from its newest good checkpoint')
    .option('-o, --out <dir>', 'run directory (default: output.dir/output.name from the config)')
    .option('--set <path=value>', 'override a config field, e.g. --set train.lr=3e-4 (repeatable)', collect, [])
    .option('--backend <name>', 'tfjs backend: auto | webgpu | tensorflow | wasm | cpu')
    .option('--seed <n>', 'random seed (overrides train.seed)')
    .option('--force', 'overwrite a non-empty run directory')
    .action(async (opts: TrainOptions) => {
      const backend = opts.backend;
      if (backend !== undefined && !BACKEND_CHOICES.includes(backend)) {
        throw new ConfigError(`--backend: expected ${BACKEND_CHOICES.join(', ')}, got '${backend}'`);
      }
      if (opts.resume !== undefined && (opts.config || opts.set.length || opts.seed !== undefined || opts.out)) {
        throw new ConfigError(
          '--resume continues a run with the config it was started with; --config, --set, --seed and --out cannot be combined with it',
          `Run: sae train --resume ${opts.resume}`,
        );
      }
      if (opts.resume === undefined && !opts.config) {
        throw new ConfigError('sae train needs --config <file> (or --resume <run>)', 'Try: sae train --config configs/quickstart.json');
      }
      const sets = [...opts.set];
      if (opts.seed !== undefined) sets.push(`train.seed=${opts.seed}`);
      const loaded = opts.config ? loadConfig(opts.config, sets) : null;
      const render = progressRenderer(process.stderr);
      const signals = stopOnSignals((line) => render.log(line));
      try {
        const result = await train(
          {
            ...(loaded ? { config: loaded.config, configFile: loaded.file } : {}),
            ...(opts.resume !== undefined ? { resume: opts.resume } : {}),
            ...(opts.out ? { outDir: opts.out } : {}),
            ...(backend ? { backend } : {}),
            force: opts.force ?? false,
          },
          { onProgress: (p) => render.update(p), onLog: (l) => render.log(l), stopRequested: signals.requested },
        );
        render.done();
        const ev = result.eval;
        log(
          `done: ${result.steps} steps, ${result.tokens} tokens in ${formatDuration(result.seconds)} on ${result.backend}` +
            (result.resumedFrom !== null ? ` (resumed from step ${result.resumedFrom})` : '') +
            (result.last ? `\nlast: ${formatProgressLine({ ...result.last, totalSteps: result.steps, etaSeconds: 0 })}` : '') +
            `\nheld-out (${ev.rows} rows): explained variance ${ev.explainedVariance.toFixed(4)}, L0 ${ev.l0.toFixed(2)}, ` +
            `mse ${ev.mse.toFixed(4)}, dead ${(100 * ev.deadFraction).toFixed(1)}%` +
            `\nrun directory: ${result.runDir}`,
        );
      } finally {
        render.done();
        signals.dispose();
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
