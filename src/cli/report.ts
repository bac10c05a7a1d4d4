import { InternalError, ToolkitError } from '../errors.js';

/** Print an error for a person (stderr) and return the exit code. */
export function printError(err: unknown, debug: boolean): number {
  if (err instanceof ToolkitError) {
    process.stderr.write(`error: ${err.message}\n`);
    if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  const what = err instanceof InternalError ? err.message : err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  process.stderr.write(`error: this is a bug in sae, please report it: ${what}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  else process.stderr.write('hint: run again with --debug for the stack trace.\n');
  return 70;
}

/** Write machine-readable output to stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Write human-readable text to stdout. */
export function printText(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

/** Progress and warnings go to stderr. */
export function log(line: string): void {
  process.stderr.write(line.endsWith('\n') ? line : line + '\n');
}
