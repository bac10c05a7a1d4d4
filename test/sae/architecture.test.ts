import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { inferenceActivation, initialLogThreshold, kAt, nextThreshold, resolveArchitecture, stepActivation, type ResolvedArchitecture } from '../../src/sae/architecture.js';
import { JUMPRELU_DEFAULTS } from '../../src/sae/jumprelu-config.js';
import { buildConfig } from '../helpers/config.js';

function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const run = { d: 64, m: 512, totalSteps: 1000, batchSize: 1024 };

describe('sae.architecture in the config', () => {
  it('relu is the default and keeps the old defaults (l1 auto, resampling on)', () => {
    const c = buildConfig();
    expect(c.sae.architecture).toBe('relu');
    expect(c.sae.l1).toBe('auto');
    expect(c.resample.enabled).toBe(true);
    expect(c.sae.k).toBeUndefined();
    expect(resolveArchitecture(c.sae, run)).toEqual({ name: 'relu' });
  });

  it('topk / batchtopk: k 32 by default, no L1, resampling off unless asked for', () => {
    for (const a of ['topk', 'batchtopk'] as const) {
      const c = buildConfig({ sae: { architecture: a } });
      expect(c.sae).toMatchObject({ architecture: a, k: 32 });
      expect(c.sae.l1).toBeUndefined();
      expect(c.resample.enabled).toBe(false);
      expect(buildConfig({ sae: { architecture: a }, resample: { enabled: true } }).resample.enabled).toBe(true);
    }
  });

  it('refuses an unknown architecture, naming the field and the choices', () => {
    const e = configError(() => buildConfig({ sae: { architecture: 'gated' as never } }));
    expect(e.message).toMatch(/sae\.architecture/);
    expect(e.message).toMatch(/relu.*topk.*batchtopk.*jumprelu/);
  });

  it("refuses settings of another architecture, naming each field", () => {
    let e = configError(() => buildConfig({ sae: { architecture: 'topk', l1: 0.5 } }));
    expect(e.message).toBe("sae.l1: this setting belongs to relu (its sparsity is the L1 penalty), but sae.architecture is 'topk'.");
    expect(e.hint).toMatch(/sae\.k/);
    e = configError(() => buildConfig({ sae: { architecture: 'batchtopk' }, train: { l1WarmupSteps: 10 } }));
    expect(e.message).toMatch(/^train\.l1WarmupSteps: /);
    e = configError(() => buildConfig({ sae: { k: 16, auxK: { coefficient: 0.1 } } }));
    expect(e.message).toBe("sae.k, sae.auxK: these settings belong to topk/batchtopk (their sparsity is k), but sae.architecture is 'relu'.");
    e = configError(() => buildConfig({ sae: { architecture: 'topk', thresholdBeta: 0.9 } }));
    expect(e.message).toMatch(/^sae\.thresholdBeta: /);
    e = configError(() => buildConfig({ sae: { architecture: 'topk', k: 16, kStart: 8 } }));
    expect(e.message).toBe('sae.kStart = 8 is below sae.k = 16: k anneals down from kStart to k.');
  });

  it('refuses k not below the width once the width is known', () => {
    const c = buildConfig({ sae: { architecture: 'topk', k: 512 } });
    const e = configError(() => resolveArchitecture(c.sae, run));
    expect(e.message).toBe('sae.k = 512 is not below the dictionary width m = 512: topk would keep every feature.');
    expect(e.hint).toMatch(/below 512/);
    expect(configError(() => resolveArchitecture({ ...c.sae, k: 8, kStart: 600 }, run)).message).toMatch(/^sae\.kStart = 600/);
  });
});

describe('resolved architecture', () => {
  it('AuxK defaults: k_aux d/2, coefficient 1/32, dead after min(10M, run/10) tokens', () => {
    const a = resolveArchitecture(buildConfig({ sae: { architecture: 'topk', k: 8 } }).sae, run);
    expect(a).toMatchObject({ name: 'topk', k: 8, kStart: 8, kAnnealSteps: 0, auxK: { k: 32, coefficient: 1 / 32, deadSteps: 100 } });
    const off = resolveArchitecture(buildConfig({ sae: { architecture: 'topk', auxK: { coefficient: 0 } } }).sae, run);
    expect(off).toMatchObject({ auxK: null });
    const long = resolveArchitecture(buildConfig({ sae: { architecture: 'topk' } }).sae, { ...run, totalSteps: 1e6 });
    expect(long).toMatchObject({ auxK: { deadSteps: Math.ceil(10_000_000 / 1024) } });
  });

  it('k anneals linearly from kStart to k, then stays', () => {
    const a = resolveArchitecture(buildConfig({ sae: { architecture: 'topk', k: 8, kStart: 48, kAnnealFraction: 0.1 } }).sae, run) as Extract<ResolvedArchitecture, { k: number }>;
    expect(a.kAnnealSteps).toBe(100);
    expect([1, 51, 100, 101, 1000].map((s) => kAt(a, s))).toEqual([48, 28, 8, 8, 8]);
    expect(stepActivation(a, 1)).toEqual({ kind: 'topk', k: 48 });
  });

  it('batchtopk: the inference threshold averages the batch thresholds from half the run on, and is a JumpReLU', () => {
    const a = resolveArchitecture(buildConfig({ sae: { architecture: 'batchtopk', thresholdBeta: 0.5 } }).sae, run);
    expect(nextThreshold(a, 499, null, 3)).toBeNull();
    const t1 = nextThreshold(a, 500, null, 2);
    expect(t1).toBe(2);
    expect(nextThreshold(a, 501, t1, 4)).toBe(3);
    expect(nextThreshold(a, 502, 3, Number.NaN)).toBe(3);
    const act = inferenceActivation(a, 4, 3);
    expect(act).toEqual({ kind: 'jumprelu', threshold: Float32Array.from([3, 3, 3, 3]) });
    const topk = resolveArchitecture(buildConfig({ sae: { architecture: 'topk', k: 5 } }).sae, run);
    expect(inferenceActivation(topk, 4, null)).toEqual({ kind: 'topk', k: 5 });
    expect(nextThreshold(topk, 900, null, 1)).toBeNull();
  });
});

describe('sae.architecture jumprelu', () => {
  it("defaults: penalty step and its coefficient, resampling off; the thresholds start from the data ('auto') or at initialThreshold", () => {
    const c = buildConfig({ sae: { architecture: 'jumprelu' } });
    expect(c.sae.l1).toBeUndefined();
    expect(c.sae.k).toBeUndefined();
    expect(c.resample.enabled).toBe(false);
    const a = resolveArchitecture(c.sae, run);
    expect(a).toEqual({ name: 'jumprelu', ...JUMPRELU_DEFAULTS, l0Coefficient: JUMPRELU_DEFAULTS.l0Coefficient.step, targetL0: null, tanhScale: null, initialL0: 20 });
    expect(JUMPRELU_DEFAULTS.initialThreshold).toBe('auto');
    const fromData = Float32Array.from([0.5, 2, 0.25]);
    expect(initialLogThreshold(a, 3, fromData)).toEqual(Float32Array.from(fromData, Math.log));
    const fixed = resolveArchitecture(buildConfig({ sae: { architecture: 'jumprelu', jumprelu: { initialThreshold: 0.5 } } }).sae, run);
    expect(fixed).toMatchObject({ initialThreshold: 0.5, initialL0: null });
    expect(initialLogThreshold(fixed, 3, fromData)).toEqual(new Float32Array(3).fill(Math.log(0.5)));
    expect(initialLogThreshold(resolveArchitecture(buildConfig().sae, run), 3, fromData)).toBeUndefined();
    expect(stepActivation(a, 1)).toEqual({ kind: 'relu' });
    const tl = resolveArchitecture(buildConfig({ sae: { architecture: 'jumprelu', jumprelu: { penalty: 'target-l0', targetL0: 12 } } }).sae, run);
    expect(tl).toMatchObject({ penalty: 'target-l0', targetL0: 12, l0Coefficient: JUMPRELU_DEFAULTS.l0Coefficient['target-l0'], tanhScale: null, initialL0: 12 });
    // initialL0: its own value, else the target, else 20 capped at a quarter of the width.
    expect(resolveArchitecture(buildConfig({ sae: { architecture: 'jumprelu', jumprelu: { initialL0: 40 } } }).sae, run)).toMatchObject({ initialL0: 40 });
    expect(resolveArchitecture(buildConfig({ sae: { architecture: 'jumprelu' } }).sae, { ...run, m: 32 })).toMatchObject({ initialL0: 8 });
    const th = resolveArchitecture(buildConfig({ sae: { architecture: 'jumprelu', jumprelu: { penalty: 'tanh' } } }).sae, run);
    expect(th).toMatchObject({ penalty: 'tanh', tanhScale: 4, targetL0: null });
  });

  it('the dictionary encodes with exp(log_threshold) per feature', () => {
    const a = resolveArchitecture(buildConfig({ sae: { architecture: 'jumprelu' } }).sae, run);
    const log = Float32Array.from([0, Math.log(0.5), -2]);
    expect(inferenceActivation(a, 3, null, log)).toEqual({ kind: 'jumprelu', threshold: Float32Array.from(log, Math.exp) });
    expect(() => inferenceActivation(a, 3, null)).toThrow(/no log_threshold/);
  });

  it('refuses the settings of other architectures and of other penalties, naming the field', () => {
    let e = configError(() => buildConfig({ sae: { architecture: 'jumprelu', k: 8, auxK: { coefficient: 0.1 } } }));
    expect(e.message).toBe("sae.k, sae.auxK: these settings belong to topk/batchtopk (their sparsity is k), but sae.architecture is 'jumprelu'.");
    expect(e.hint).toMatch(/sae\.jumprelu\.l0Coefficient/);
    e = configError(() => buildConfig({ sae: { architecture: 'jumprelu', l1: 1 } }));
    expect(e.message).toMatch(/^sae\.l1: this setting belongs to relu/);
    e = configError(() => buildConfig({ sae: { architecture: 'jumprelu', thresholdBeta: 0.9 } }));
    expect(e.message).toMatch(/^sae\.thresholdBeta: this setting belongs to batchtopk/);
    e = configError(() => buildConfig({ sae: { architecture: 'topk', jumprelu: { bandwidth: 0.1 } } }));
    expect(e.message).toBe("sae.jumprelu: this setting belongs to jumprelu (its sparsity is the L0 penalty, sae.jumprelu), but sae.architecture is 'topk'.");
    e = configError(() => buildConfig({ sae: { jumprelu: {} } }));
    expect(e.message).toMatch(/but sae\.architecture is 'relu'/);
    e = configError(() => buildConfig({ sae: { architecture: 'jumprelu', jumprelu: { targetL0: 20 } } }));
    expect(e.message).toBe("sae.jumprelu.targetL0 belongs to sae.jumprelu.penalty 'target-l0', but the penalty is 'step'.");
    e = configError(() => buildConfig({ sae: { architecture: 'jumprelu', jumprelu: { penalty: 'target-l0', tanhScale: 2 } } }));
    expect(e.message).toMatch(/^sae\.jumprelu\.tanhScale belongs to sae\.jumprelu\.penalty 'tanh'/);
    // The sparse step trains jumprelu (step/kernels/jumprelu-loops.ts): no refusal.
    expect(buildConfig({ sae: { architecture: 'jumprelu' }, train: { kernel: 'sparse' } }).train.kernel).toBe('sparse');
    e = configError(() => buildConfig({ sae: { architecture: 'jumprelu', jumprelu: { penalty: 'l1' as never } } }));
    expect(e.message).toMatch(/sae\.jumprelu\.penalty/);
    e = configError(() => buildConfig({ sae: { architecture: 'jumprelu', jumprelu: { initialThreshold: 0.3, initialL0: 10 } } }));
    expect(e.message).toBe("sae.jumprelu.initialL0 belongs to sae.jumprelu.initialThreshold 'auto', but initialThreshold is 0.3.");
    e = configError(() => buildConfig({ sae: { architecture: 'jumprelu', jumprelu: { initialThreshold: 'median' as never } } }));
    expect(e.message).toMatch(/sae\.jumprelu\.initialThreshold/);
  });

  it('refuses a target or initial L0 the width cannot reach', () => {
    const at = (jumprelu: Record<string, unknown>) => configError(() => resolveArchitecture(buildConfig({ sae: { architecture: 'jumprelu', jumprelu } }).sae, run));
    let e = at({ penalty: 'target-l0', targetL0: 512 });
    expect(e.message).toBe('sae.jumprelu.targetL0 = 512 is not below the dictionary width m = 512: no L0 can reach it.');
    expect(e.hint).toMatch(/Give sae\.jumprelu\.targetL0 below 512/);
    e = at({ initialL0: 600 });
    expect(e.message).toMatch(/^sae\.jumprelu\.initialL0 = 600 is not below the dictionary width m = 512/);
    expect(resolveArchitecture(buildConfig({ sae: { architecture: 'jumprelu', jumprelu: { initialL0: 511 } } }).sae, run)).toMatchObject({ initialL0: 511 });
  });
});
