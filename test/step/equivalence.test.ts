import * as tf from '../../src/backend/tfjs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { PARAM_NAMES } from '../../src/sae/params.js';
import { SPARSE_CROSSOVER } from '../../src/step/choose.js';
import { disposeEngines, engineStep, ENGINES, expectClose, m, RECIPE_NAMES, reference, train, type EngineCase } from './engines.js';

// Every step formulation the factory makes, against the reference (step/dense.ts): the same
// statistics, weights and Adam moments over 4 steps, for each recipe, at initialisation (b_enc
// shift 0: about half the features fire) and in the sparse regime of a trained SAE (shift -0.6).
// Worker threads run the built dist/ (npm test builds first).

function equivalence(backend: 'cpu' | 'wasm', engines: EngineCase[]): void {
  describe(`step engines against the reference (${backend} backend)`, () => {
    beforeAll(async () => {
      await initBackend(backend);
      expect(tf.getBackend()).toBe(backend);
    });
    for (const c of engines) {
      for (const recipe of RECIPE_NAMES) {
        for (const shift of [0, -0.6]) {
          it(`${c.name} matches the reference over 4 steps (${recipe}, b_enc shift ${shift})`, async () => {
            const ref = await train(reference, recipe, 4, shift);
            expect(ref.log[3]!.l0).toBeGreaterThan(0);
            expectClose(await train(engineStep(c), recipe, 4, shift), ref);
          });
        }
      }
      it(`${c.name} is deterministic`, async () => {
        const a = await train(engineStep(c), 'april-update', 3, -0.3);
        const b = await train(engineStep(c), 'april-update', 3, -0.3);
        expect(a.log).toEqual(b.log);
        for (const n of PARAM_NAMES) expect(Array.from(a.weights[n])).toEqual(Array.from(b.weights[n]));
      });
    }
  });
}

afterAll(disposeEngines);

// The cpu backend hands the one-thread sparse step copies of its tensors; wasm, views of its heap (kernels/host-io.ts).
equivalence('cpu', ENGINES.filter((c) => c.options.workers === 0));
equivalence('wasm', ENGINES);

describe("'auto' on one thread (cpu backend)", () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });
  it('switches to the sparse formulation once L0 is under the crossover', async () => {
    const ran: string[] = [];
    const c = ENGINES.find((e) => e.name === 'auto, one thread')!;
    const got = await train(engineStep(c, {}, ran), 'towards-monosemanticity', 4, -0.6);
    expectClose(got, await train(reference, 'towards-monosemanticity', 4, -0.6));
    for (const s of got.log) expect(s.l0).toBeLessThan(SPARSE_CROSSOVER.cpu! * m);
    expect(ran).toContain('sparse');
  });
});
