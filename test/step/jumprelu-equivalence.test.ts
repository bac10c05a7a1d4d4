import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import type { StepArchitecture } from '../../src/sae/gradients.js';
import type { JumpReluStep } from '../../src/sae/jumprelu.js';
import { PARAM_NAMES } from '../../src/sae/params.js';
import { disposeEngines, engineStep, ENGINES, expectClose, m, pooledStep, reference, train, type EngineCase } from './engines.js';

// JumpReLU through the sparse formulations (the one-thread sparse step and the workers, with
// SIMD and JavaScript loops: step/kernels/jumprelu-loops.ts) and the workers' dense slices
// (slice-dense.ts) against the reference
// (step/dense.ts with sae/jumprelu.ts): the same loss, L0 and firing counts every step, and the
// same weights, thresholds and Adam moments after 4 steps, for each penalty and each recipe
// (unit-norm decoder with its projection; global-norm clipping with the thresholds counted).
// Thresholds from 0.05 to 1 and a bandwidth of 0.3 put many entries in the kernel's window.

const base = { bandwidth: 0.3, targetL0: null, tanhScale: null };
const PENALTIES: { name: string; j: JumpReluStep }[] = [
  { name: 'step', j: { ...base, penalty: 'step', coefficient: 0.05 } },
  { name: 'tanh', j: { ...base, penalty: 'tanh', coefficient: 0.05, tanhScale: 4 } },
  { name: 'target-l0', j: { ...base, penalty: 'target-l0', coefficient: 1, targetL0: 6 } },
];
const arch = (j: JumpReluStep): StepArchitecture => ({ activation: { kind: 'relu' }, jumprelu: j });

afterAll(disposeEngines);

describe('JumpReLU step engines against the reference (wasm backend)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  const sparse = [...ENGINES.filter((c) => c.options.kind === 'sparse'), ENGINES.find((e) => e.name === 'dense, 2 workers')!];
  const stepOf = (c: EngineCase) => (c.options.workers > 0 && c.options.kind === 'sparse' ? pooledStep(c) : engineStep(c));
  for (const { name, j } of PENALTIES) {
    for (const c of sparse) {
      it(`${name}: ${c.name} matches the reference over 4 steps`, async () => {
        for (const recipe of ['towards-monosemanticity', 'april-update'] as const) {
          const ref = await train(reference, recipe, 4, 0, undefined, arch(j));
          // The entries are sparse and the window is not empty, so the test exercises what it claims.
          expect(ref.log[0]!.l0).toBeGreaterThan(1);
          expect(ref.log[0]!.l0).toBeLessThan(m / 2);
          expectClose(await train(stepOf(c), recipe, 4, 0, undefined, arch(j)), ref);
        }
      });
    }
  }
  it('the thresholds moved, and the penalty matters: another lambda gives other thresholds', async () => {
    const j = PENALTIES[0]!.j;
    const a = await train(reference, 'april-update', 2, 0, undefined, arch(j));
    const b = await train(reference, 'april-update', 2, 0, undefined, arch({ ...j, coefficient: 0 }));
    const start = Math.log(0.05);
    expect(a.weights.log_threshold![0]).not.toBe(start);
    expect(Array.from(a.weights.log_threshold!)).not.toEqual(Array.from(b.weights.log_threshold!));
  });
  it('3 workers are deterministic (bit for bit)', async () => {
    const c = ENGINES.find((e) => e.name === 'sparse, 3 workers, SIMD loops')!;
    const j = PENALTIES[1]!.j;
    const [a, b] = [await train(pooledStep(c), 'april-update', 3, -0.3, undefined, arch(j)), await train(pooledStep(c), 'april-update', 3, -0.3, undefined, arch(j))];
    expect(a.log).toEqual(b.log);
    for (const n of [...PARAM_NAMES, 'log_threshold'] as const) expect(Array.from(a.weights[n]!)).toEqual(Array.from(b.weights[n]!));
  });
  it("'auto' with workers runs jumprelu sparse on them below the crossover", async () => {
    const c = ENGINES.find((e) => e.name === 'auto, 2 workers')!;
    const ran: string[] = [];
    // b_enc shifted down: L0 well below 15% of the width.
    const ref = await train(reference, 'towards-monosemanticity', 3, -0.6, undefined, arch(PENALTIES[0]!.j));
    expect(ref.log[0]!.l0).toBeLessThan(0.15 * m);
    expectClose(await train(engineStep(c, {}, ran), 'towards-monosemanticity', 3, -0.6, undefined, arch(PENALTIES[0]!.j)), ref);
    expect(ran).toEqual(Array(3).fill('sparse x2 workers (simd)'));
  });
  it("'auto' with workers runs jumprelu dense on them when half the features fire", async () => {
    const c = ENGINES.find((e) => e.name === 'auto, 2 workers')!;
    const ran: string[] = [];
    const ref = await train(reference, 'april-update', 2, 0.6, undefined, arch(PENALTIES[1]!.j));
    expect(ref.log[0]!.l0).toBeGreaterThan(0.3 * m);
    expectClose(await train(engineStep(c, {}, ran), 'april-update', 2, 0.6, undefined, arch(PENALTIES[1]!.j)), ref);
    expect(ran).toEqual(['dense x2 workers', 'dense x2 workers']);
  });
});
