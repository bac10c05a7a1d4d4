import { formatDuration, formatProgressLine, type TrainProgress } from '../train/progress.js';

export interface ProgressRenderer {
  update(p: TrainProgress): void;
  log(line: string): void;
  done(): void;
}

/**
 * A live one-line bar on a TTY (redrawn in place), or plain periodic lines otherwise
 * (at most one every few seconds, plus the last).
 */
export function progressRenderer(out: NodeJS.WriteStream, minIntervalMs = 5000): ProgressRenderer {
  const tty = Boolean(out.isTTY);
  let lastPlain = 0;
  let barShown = false;
  let pending: TrainProgress | null = null;
  const clear = () => {
    if (tty && barShown) out.write('\r\x1b[2K');
    barShown = false;
  };
  const bar = (p: TrainProgress) => {
    const width = 20;
    const filled = Math.round((width * p.step) / Math.max(1, p.totalSteps));
    const cols = out.columns ?? 120;
    // Step and ETA first: on a narrow terminal the tail is what gets cut.
    const text =
      `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] step ${p.step}/${p.totalSteps} eta ${formatDuration(p.etaSeconds)}  ` +
      formatProgressLine(p).replace(/^step \S+ {2}/, '').replace(/ {2}eta .*$/, '');
    out.write('\r\x1b[2K' + text.slice(0, cols - 1));
    barShown = true;
  };
  return {
    update(p) {
      if (tty) return bar(p);
      const now = Date.now();
      pending = p;
      if (now - lastPlain >= minIntervalMs || p.step === p.totalSteps) {
        out.write(formatProgressLine(p) + '\n');
        lastPlain = now;
        pending = null;
      }
    },
    log(line) {
      clear();
      out.write(line + '\n');
    },
    done() {
      clear();
      if (pending) out.write(formatProgressLine(pending) + '\n');
      pending = null;
    },
  };
}
