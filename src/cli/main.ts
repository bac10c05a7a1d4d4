import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.js';
import { printError } from './report.js';
import { releaseBackendIfLoaded } from '../backend/release-hook.js';

/** Build the commander program. Exported for tests. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('sae')
    .description('Train sparse autoencoders (dictionary learning) on activation dumps in Arrow IPC format.')
    .version('0.1.0')
    .option('--debug', 'print stack traces for errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerCommands(program);
  return program;
}

/** The single place that catches errors and picks exit codes. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed help/version/usage errors.
      return err.exitCode;
    }
    return printError(err, debug);
  } finally {
    // A WebGPU device keeps the process alive; the other backends hold nothing.
    releaseBackendIfLoaded();
  }
}

const code = await main(process.argv);
process.exitCode = code;
