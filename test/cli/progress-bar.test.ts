import { describe, expect, it } from 'vitest';
import { progressRenderer } from '../../src/cli/progress-bar.js';
import type { TrainProgress } from '../../src/train/progress.js';

function fakeStream(isTTY: boolean, columns = 200) {
  const chunks: string[] = [];
  const out = { isTTY, columns, write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WriteStream;
  return { out, text: () => chunks.join('') };
}

const p = (step: number): TrainProgress => ({
  step,
  totalSteps: 100,
  tokens: step * 10,
  tokensPerSecond: 1234,
  loss: 1.5,
  mse: 1.2,
  explainedVariance: 0.8,
  l0: 12.5,
  deadFraction: 0.05,
  lr: 1e-3,
  l1Coefficient: 1,
  elapsedSeconds: step,
  etaSeconds: 100 - step,
});

describe('progress renderer', () => {
  it('redraws one line in place on a TTY, step and ETA first, cut to the terminal width', () => {
    const s = fakeStream(true, 60);
    const r = progressRenderer(s.out);
    r.update(p(10));
    r.update(p(20));
    r.log('a warning');
    r.done();
    const t = s.text();
    expect(t).toContain('\r\x1b[2K[####................] step 20/100 eta 1m20s');
    expect(t).not.toMatch(/step 10\/100[^\r]*\n/);
    expect(t).toContain('a warning\n');
    for (const line of t.split(/\r\x1b\[2K/)) expect(line.replace('a warning\n', '').length).toBeLessThan(60);
  });

  it('prints plain periodic lines otherwise, and always the last one', () => {
    const s = fakeStream(false);
    const r = progressRenderer(s.out, 60_000);
    r.update(p(10));
    r.update(p(20));
    r.update(p(100));
    r.done();
    const lines = s.text().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^step 10\/100 {2}1234 tok\/s {2}loss 1\.5000 {2}mse 1\.2000 {2}ev 0\.800 {2}L0 12\.5 {2}dead 5\.0% {2}eta 1m30s$/);
    expect(lines[1]).toMatch(/^step 100\/100 /);
    expect(s.text()).not.toContain('\r');
  });
});
