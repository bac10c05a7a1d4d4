import { formatDuration } from '../train/progress.js';

/**
 * Progress of a pass over tokens (harvest, model evaluation) on stderr: a bar redrawn in place
 * on a TTY, otherwise a plain line every few seconds and at the end.
 */
export function tokenProgress(label: string, out: NodeJS.WriteStream = process.stderr, minIntervalMs = 5000): { update(done: number, total: number, seconds: number): void; done(): void } {
  const tty = Boolean(out.isTTY);
  let last = 0;
  let shown = false;
  const line = (done: number, total: number, seconds: number): string => {
    const rate = done / Math.max(seconds, 1e-9);
    const eta = rate > 0 ? (total - done) / rate : NaN;
    const width = 20;
    const filled = Math.round((width * done) / Math.max(1, total));
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} tokens  ${Math.round(rate)} tokens/s  eta ${formatDuration(eta)}`;
  };
  return {
    update(done, total, seconds) {
      if (tty) {
        out.write('\r\x1b[2K' + line(done, total, seconds).slice(0, (out.columns ?? 120) - 1));
        shown = true;
        return;
      }
      const now = Date.now();
      if (now - last >= minIntervalMs || done === total) {
        out.write(line(done, total, seconds) + '\n');
        last = now;
      }
    },
    done() {
      if (tty && shown) out.write('\n');
    },
  };
}
