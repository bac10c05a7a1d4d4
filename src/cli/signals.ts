/**
 * Ctrl-C / SIGTERM: the first signal asks the trainer to finish its step, checkpoint and stop
 * (exit 130 / 143); a second one exits at once (the last checkpoint on disk stays valid).
 */
export function stopOnSignals(say: (line: string) => void): {
  requested: () => { reason: string; exitCode: number } | null;
  dispose: () => void;
} {
  let stop: { reason: string; exitCode: number } | null = null;
  const handler = (signal: NodeJS.Signals) => {
    const exitCode = signal === 'SIGINT' ? 130 : 143;
    if (stop) process.exit(exitCode);
    stop = { reason: `received ${signal}`, exitCode };
    say(`${signal}: finishing the current step and writing a checkpoint (send it again to quit at once)`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    requested: () => stop,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
