import { describe, expect, it } from 'vitest';
import { pipelinesReads } from '../../src/train/loop.js';
import type { ResolvedArchitecture } from '../../src/sae/architecture.js';

describe("pipelinesReads: reading a step's statistics while the next step runs", () => {
  const topk = (auxK: boolean) => ({ name: 'topk', k: 8, kStart: 8, kAnnealSteps: 0, auxK: auxK ? { k: 32, coefficient: 1 / 32, deadSteps: 10 } : null }) as unknown as ResolvedArchitecture;

  it('pipelines on a GPU (asynchronous reads) only', () => {
    expect(pipelinesReads({ name: 'relu' }, false)).toBe(true);
    expect(pipelinesReads({ name: 'relu' }, true)).toBe(false);
    expect(pipelinesReads(topk(false), false)).toBe(true);
  });

  it("does not pipeline where the next step needs the last step's firing (AuxK's dead mask)", () => {
    expect(pipelinesReads(topk(true), false)).toBe(false);
  });
});
