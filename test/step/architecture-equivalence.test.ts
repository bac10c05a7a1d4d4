import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import type { StepArchitecture } from '../../src/sae/gradients.js';
import { B, disposeEngines, engineStep, ENGINES, expectClose, reference, train } from './engines.js';

// TopK and BatchTopK through every step formulation that serves them, against the reference
// (step/dense.ts with the architecture): same statistics, weights and moments over 4 steps. L0 is
// k from the first step, whatever the initialisation (b_enc shift 0 or -0.6).

const K = 5;
const CASES: { name: string; arch: StepArchitecture }[] = [
  { name: 'topk', arch: { activation: { kind: 'topk', k: K } } },
  { name: 'batchtopk', arch: { activation: { kind: 'batchtopk', k: K } } },
];
const AUX: StepArchitecture = { activation: { kind: 'topk', k: K }, auxK: { dead: Int32Array.from([0, 3, 5, 17, 30, 31, 47]), k: 3, coefficient: 1 / 32 } };

afterAll(disposeEngines);

describe('TopK / BatchTopK step engines against the reference (wasm backend)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  // The workers' dense slices apply ReLU only: 'dense' with workers runs the reference for these.
  // (Worker pools take seconds to start: the SIMD and auto pools here, the JS loops in equivalence.test.ts.)
  const engines = ENGINES.filter((c) => c.options.kind !== 'dense' && c.options.workers <= 2 && (c.options.workers === 1 || c.options.simd));
  for (const { name, arch } of CASES) {
    for (const shift of [0, -0.6]) {
      it(`${name}: L0 is k from the first step (b_enc shift ${shift})`, async () => {
        const ref = await train(reference, 'towards-monosemanticity', 4, shift, undefined, arch);
        // TopK of ReLU: a row with fewer than k positive pre-activations keeps those only.
        for (const s of ref.log) {
          if (shift === 0) expect(s.l0).toBeCloseTo(K, 6);
          else expect(s.l0).toBeGreaterThan(K - 1);
          expect(s.l0).toBeLessThanOrEqual(K + 1e-6);
        }
      });
    }
    for (const c of engines) {
      it(`${name}: ${c.name} matches the reference over 4 steps`, async () => {
        const ref = await train(reference, 'towards-monosemanticity', 4, 0, undefined, arch);
        expectClose(await train(engineStep(c), 'towards-monosemanticity', 4, 0, undefined, arch), ref);
      });
    }
  }
  it("'dense' with workers runs the reference for topk", async () => {
    const c = ENGINES.find((e) => e.name === 'dense, 2 workers')!;
    const ref = await train(reference, 'april-update', 3, 0, undefined, CASES[0]!.arch);
    expectClose(await train(engineStep({ ...c, ran: /^dense$/ }), 'april-update', 3, 0, undefined, CASES[0]!.arch), ref);
  });
  it('AuxK: the one-thread sparse step matches the reference; with dead latents the workers hand the step to it', async () => {
    const ref = await train(reference, 'towards-monosemanticity', 4, 0, undefined, AUX);
    const one = ENGINES.find((e) => e.name === 'sparse, one thread')!;
    expectClose(await train(engineStep(one), 'towards-monosemanticity', 4, 0, undefined, AUX), ref);
    const workers = ENGINES.find((e) => e.name === 'sparse, 2 workers, SIMD loops')!;
    expectClose(await train(engineStep({ ...workers, ran: /^sparse$/ }), 'towards-monosemanticity', 4, 0, undefined, AUX), ref);
    // Without AuxK the same steps differ: the auxiliary loss is in the reference's gradients.
    const plain = await train(reference, 'towards-monosemanticity', 4, 0, undefined, { activation: AUX.activation });
    expect(Math.abs(plain.log[3]!.loss - ref.log[3]!.loss)).toBeGreaterThan(1e-6);
  });
  it(`batch rows (${B}) x k entries per step for batchtopk, not k in every row`, async () => {
    const ref = await train(reference, 'towards-monosemanticity', 2, 0, undefined, CASES[1]!.arch);
    const perFeature = ref.log[0]!.fired.reduce((a, b) => a + b, 0);
    expect(perFeature).toBe(K * B);
  });
});
