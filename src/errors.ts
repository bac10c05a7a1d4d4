/**
 * Error classes. A ToolkitError is "already explained": the CLI prints its message and hint
 * and exits 1. Anything else reaching the entry point is a bug (InternalError or unknown).
 */
export class ToolkitError extends Error {
  /** What the user can do next, printed after the message. */
  readonly hint: string | undefined;
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number;
  constructor(message: string, hint?: string, exitCode = 1) {
    super(message);
    this.name = new.target.name;
    this.hint = hint;
    this.exitCode = exitCode;
  }
}

/** A config file or --set override is invalid. */
export class ConfigError extends ToolkitError {}

/** Input activations are missing, malformed, or not what the config says. */
export class DataError extends ToolkitError {}

/** A checkpoint is missing, corrupt, or does not match the run. */
export class CheckpointError extends ToolkitError {}

/** A run directory is missing, not a run, locked, or not writable; an output path exists. */
export class RunError extends ToolkitError {}

/** Training diverged (NaN/Inf in loss or weights). */
export class DivergenceError extends ToolkitError {}

/** Training was stopped by a signal after writing a checkpoint. exitCode is 130 or 143. */
export class InterruptedError extends ToolkitError {}

/** A bug: an invariant of ours broke. Printed as "this is a bug". */
export class InternalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InternalError';
  }
}

/** Describe an unknown thrown value in one line (for wrapping foreign errors). */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? String(err);
  return String(err);
}

/** A language-model file (GGUF) is not readable, or describes a model `sae` does not support. */
export class ModelError extends ToolkitError {}

/** The compute backend could not start, or failed while running (a GPU validation error, a lost device). */
export class BackendError extends ToolkitError {}
