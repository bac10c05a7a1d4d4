import { validateConfig } from '../../src/config/load.js';
import type { Config, ConfigInput } from '../../src/config/schema.js';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** A valid config for tests, with overrides merged section by section. */
export function buildConfig(overrides: DeepPartial<ConfigInput> & { data?: Partial<ConfigInput['data']> } = {}, baseDir = process.cwd()): Config {
  const raw: Record<string, unknown> = { data: { train: 'fixtures/stories260k-L2-train-8k.arrow' } };
  for (const [k, v] of Object.entries(overrides)) {
    raw[k] = { ...((raw[k] as object) ?? {}), ...(v as object) };
  }
  return validateConfig(raw, baseDir);
}
