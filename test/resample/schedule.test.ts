import { describe, expect, it } from 'vitest';
import { ResampleSchema, type ConfigInput } from '../../src/config/schema.js';
import { ConfigError } from '../../src/errors.js';
import { resolveResampleSchedule } from '../../src/resample/schedule.js';

const cfg = (o: ConfigInput['resample'] = {}) => ResampleSchema.parse(o);

describe('resolveResampleSchedule', () => {
  it('scales the paper schedule to the run: every T/8 until T/2, window every/2', () => {
    const s = resolveResampleSchedule(cfg(), 1000, 64, 10_000_000);
    expect(s.enabled).toBe(true);
    expect(s.steps).toEqual([125, 250, 375, 500]);
    expect(s.deadWindow).toBe(62);
    expect(s.deadWindowRows).toBe(62 * 64);
    expect(s.samples).toBe(819_200);
    expect(s.encoderScale).toBe(0.2);
    expect(s.centre).toBe(false);
    expect(s.warnings).toEqual([]);
  });

  it('reproduces the paper numbers on a paper-length run', () => {
    const s = resolveResampleSchedule(cfg({ every: 25_000, until: 100_000 }), 200_000, 4096, 1e9);
    expect(s.steps).toEqual([25_000, 50_000, 75_000, 100_000]);
    expect(s.deadWindow).toBe(12_500);
  });

  it('caps the scored inputs at the training rows: silently for the default, with a warning for a given value', () => {
    const s = resolveResampleSchedule(cfg(), 1000, 64, 5000);
    expect(s.samples).toBe(5000);
    expect(s.warnings).toEqual([]);
    const given = resolveResampleSchedule(cfg({ samples: 819200 }), 1000, 64, 5000);
    expect(given.samples).toBe(5000);
    expect(given.warnings.join('\n')).toMatch(/819200 is more than the 5000 training rows/);
  });

  it('takes until as a fraction or a step, and explicit steps over every', () => {
    expect(resolveResampleSchedule(cfg({ every: 100, until: 0.25 }), 1000, 8, 1e6).steps).toEqual([100, 200]);
    expect(resolveResampleSchedule(cfg({ every: 100, until: 300 }), 1000, 8, 1e6).steps).toEqual([100, 200, 300]);
    const s = resolveResampleSchedule(cfg({ steps: [400, 100, 100, 1000, 2000], every: 7 }), 1000, 8, 1e6);
    expect(s.steps).toEqual([100, 400]);
    expect(s.deadWindow).toBe(50);
    expect(s.warnings.join('\n')).toMatch(/1000, 2000 are not before the last step/);
  });

  it('refuses a window longer than an explicit gap, and shortens one longer than a derived gap', () => {
    expect(() => resolveResampleSchedule(cfg({ every: 100, deadWindow: 150 }), 1000, 8, 1e6)).toThrow(ConfigError);
    let err: unknown;
    try {
      resolveResampleSchedule(cfg({ steps: [300, 350], deadWindow: 100 }), 1000, 8, 1e6);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/deadWindow \(100\) is longer than the 50 steps before one of the events given by resample.steps/);
    expect((err as ConfigError).hint).toMatch(/at most 50/);
    const s = resolveResampleSchedule(cfg({ deadWindow: 500 }), 800, 8, 1e6);
    expect(s.deadWindow).toBe(100);
    expect(s.warnings.join('\n')).toMatch(/deadWindow \(500\).*using 100/);
  });

  it('is off when disabled or when no event fits in the run', () => {
    const off = resolveResampleSchedule(cfg({ enabled: false }), 1000, 8, 100);
    expect(off.enabled).toBe(false);
    expect(off.steps).toEqual([]);
    expect(off.warnings).toEqual([]);
    expect(off.deadWindow).toBe(62);
    const short = resolveResampleSchedule(cfg(), 1, 8, 1e6);
    expect(short.enabled).toBe(false);
    expect(short.warnings.join('\n')).toMatch(/no event falls before the last step/);
  });
});
