import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import type { StepArchitecture } from '../../src/sae/gradients.js';
import { PARAM_NAMES } from '../../src/sae/params.js';
import { B, disposeEngines, engineStep, ENGINES, expectClose, pooledStep, reference, train } from './engines.js';

// TopK and BatchTopK, with and without AuxK, through every step formulation that serves them,
// against the reference (step/dense.ts with the architecture): same statistics, weights and
// moments over 4 steps. L0 is k from the first step, whatever the initialisation (b_enc shift 0
// or -0.6). The workers select across their slices (step/workers/selection.ts) and compute AuxK
// on theirs: the state stays in them.

const K = 5;
const CASES: { name: string; arch: StepArchitecture }[] = [
  { name: 'topk', arch: { activation: { kind: 'topk', k: K } } },
  { name: 'batchtopk', arch: { activation: { kind: 'batchtopk', k: K } } },
];
const DEAD = Int32Array.from([0, 3, 5, 17, 23, 24, 30, 31, 47]);
const AUX: StepArchitecture = { activation: { kind: 'topk', k: K }, auxK: { dead: DEAD, k: 3, coefficient: 1 / 32 } };
/** AuxK with each selection; k_aux 3 (fewer than the dead latents) and 20 (more: every positive dead entry). */
const AUX_CASES: { name: string; arch: StepArchitecture }[] = [
  { name: 'topk + AuxK', arch: AUX },
  { name: 'batchtopk + AuxK', arch: { activation: { kind: 'batchtopk', k: K }, auxK: { dead: DEAD, k: 3, coefficient: 1 / 32 } } },
  { name: 'topk + AuxK (k_aux above the dead count)', arch: { activation: { kind: 'topk', k: K }, auxK: { dead: DEAD, k: 20, coefficient: 0.5 } } },
];

afterAll(disposeEngines);

describe('TopK / BatchTopK step engines against the reference (wasm backend)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  // The workers' dense slices apply ReLU only: 'dense' with workers runs the reference for these.
  // (Worker pools take seconds to start: the SIMD and auto pools here, the JS loops in equivalence.test.ts.)
  const engines = ENGINES.filter((c) => c.options.kind !== 'dense' && c.options.workers <= 2 && (c.options.workers === 0 || c.options.simd));
  // One pool per worker engine for the AuxK cases (pooledStep).
  const workerEngines = ENGINES.filter((c) => c.options.kind === 'sparse' && c.options.workers > 0);
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
  for (const { name, arch } of AUX_CASES) {
    it(`${name}: the reference's loss has the auxiliary term`, async () => {
      const ref = await train(reference, 'towards-monosemanticity', 4, 0, undefined, arch);
      const plain = await train(reference, 'towards-monosemanticity', 4, 0, undefined, { activation: arch.activation });
      expect(Math.abs(plain.log[3]!.loss - ref.log[3]!.loss)).toBeGreaterThan(1e-6);
    });
    for (const c of [ENGINES.find((e) => e.name === 'sparse, one thread')!, ...workerEngines]) {
      it(`${name}: ${c.name} matches the reference over 4 steps`, async () => {
        for (const recipe of ['towards-monosemanticity', 'april-update'] as const) {
          const ref = await train(reference, recipe, 4, 0, undefined, arch);
          expectClose(await train(c.options.workers > 0 ? pooledStep(c) : engineStep(c), recipe, 4, 0, undefined, arch), ref);
        }
      });
    }
  }
  it('AuxK on 3 workers is deterministic (bit for bit)', async () => {
    const c = ENGINES.find((e) => e.name === 'sparse, 3 workers, SIMD loops')!;
    const arch = AUX_CASES[1]!.arch;
    const [a, b] = [await train(pooledStep(c), 'april-update', 3, -0.3, undefined, arch), await train(pooledStep(c), 'april-update', 3, -0.3, undefined, arch)];
    expect(a.log).toEqual(b.log);
    for (const n of PARAM_NAMES) expect(Array.from(a.weights[n])).toEqual(Array.from(b.weights[n]));
  });
  it("'auto' with workers runs TopK + AuxK sparse on the workers from step 1", async () => {
    const c = ENGINES.find((e) => e.name === 'auto, 2 workers')!;
    const ran: string[] = [];
    const ref = await train(reference, 'towards-monosemanticity', 3, 0, undefined, AUX);
    expectClose(await train(engineStep(c, {}, ran), 'towards-monosemanticity', 3, 0, undefined, AUX), ref);
    expect(ran).toEqual(Array(3).fill('sparse x2 workers (simd)'));
  });
  it("'auto' with workers runs TopK sparse on them above the ReLU crossover too (k / m = 25%)", async () => {
    const c = ENGINES.find((e) => e.name === 'auto, 2 workers')!;
    const ran: string[] = [];
    const arch: StepArchitecture = { activation: { kind: 'topk', k: 12 } };
    const ref = await train(reference, 'april-update', 2, 0, undefined, arch);
    expectClose(await train(engineStep(c, {}, ran), 'april-update', 2, 0, undefined, arch), ref);
    expect(ran).toEqual(['sparse x2 workers (simd)', 'sparse x2 workers (simd)']);
  });
  it(`batch rows (${B}) x k entries per step for batchtopk, not k in every row`, async () => {
    const ref = await train(reference, 'towards-monosemanticity', 2, 0, undefined, CASES[1]!.arch);
    const perFeature = ref.log[0]!.fired.reduce((a, b) => a + b, 0);
    expect(perFeature).toBe(K * B);
  });
});
