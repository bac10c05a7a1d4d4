import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applySets, configJsonSchema, loadConfig, parseSet, validateConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

function tmpConfig(value: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-cfg-'));
  const file = path.join(dir, 'c.json');
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

describe('config validation', () => {
  it('fills defaults and resolves paths against the config folder', () => {
    const file = tmpConfig({ data: { train: 'acts/*.arrow' } });
    const { config } = loadConfig(file);
    expect(config.data.train).toEqual([path.join(path.dirname(file), 'acts/*.arrow')]);
    expect(config.output.dir).toBe(path.join(path.dirname(file), 'runs'));
    expect(config.train.lr).toBe(1e-3);
    expect(config.sae.recipe).toBe('towards-monosemanticity');
    expect(config.resample.encoderScale).toBe(0.2);
  });

  it('paths given with --set resolve against the working directory; --set x=null unsets a field', () => {
    const file = tmpConfig({ data: { train: 'acts/a.arrow', eval: 'acts/b.arrow' }, output: { dir: 'runs' } });
    const { config } = loadConfig(file, ['data.train=mine/x.arrow', 'output.dir=out', 'data.eval=null']);
    expect(config.data.train).toEqual([path.resolve('mine/x.arrow')]);
    expect(config.output.dir).toBe(path.resolve('out'));
    expect(config.data.eval).toBeUndefined();
    const list = loadConfig(file, ['data.train=["p.arrow","/abs/q.arrow"]']).config;
    expect(list.data.train).toEqual([path.resolve('p.arrow'), '/abs/q.arrow']);
    // The file's own paths still resolve against its folder.
    expect(list.data.eval).toEqual([path.join(path.dirname(file), 'acts/b.arrow')]);
    // So do the language model and its token source (eval.model, eval.data).
    const model = loadConfig(file, ['eval.model=models/m.gguf', 'eval.data=tok/eval.arrow']).config;
    expect(model.eval.model).toBe(path.resolve('models/m.gguf'));
    expect(model.eval.data).toBe(path.resolve('tok/eval.arrow'));
    const own = loadConfig(tmpConfig({ data: { train: 'a.arrow' }, eval: { model: 'm.gguf' } })).config;
    expect(path.basename(path.dirname(own.eval.model!))).toMatch(/^sae-cfg-/);
  });

  it('lists every problem, one line per path, with what was found', () => {
    let err: unknown;
    try {
      validateConfig({ data: { train: 'a', colum: 'x' }, train: { lr: -1, batchSize: 1.5 }, extra: true }, '/tmp');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/4 problems/);
    expect(msg).toMatch(/^ {2}train\.lr: .*got -1$/m);
    expect(msg).toMatch(/^ {2}train\.batchSize: .*got 1\.5$/m);
    expect(msg).toMatch(/^ {2}data\.colum: unknown key/m);
    expect(msg).toMatch(/^ {2}extra: unknown key/m);
  });

  it('rejects a missing data section and wrong enum values', () => {
    expect(() => validateConfig({}, '/tmp')).toThrow(/data: .*got nothing/);
    expect(() => validateConfig({ data: { train: 'a' }, sae: { recipe: 'magic' } }, '/tmp')).toThrow(/sae\.recipe: .*"magic"/);
  });

  it('applies --set overrides with JSON values and validates them the same way', () => {
    const file = tmpConfig({ data: { train: 'a.arrow' }, train: { lr: 0.01 } });
    const { config } = loadConfig(file, ['train.lr=3e-4', 'sae.expansion=16', 'data.column="acts"', 'output.name=run1']);
    expect(config.train.lr).toBe(3e-4);
    expect(config.sae.expansion).toBe(16);
    expect(config.data.column).toBe('acts');
    expect(config.output.name).toBe('run1');
    expect(() => loadConfig(file, ['train.lr=-1'])).toThrow(/train\.lr: .*got -1/);
    expect(() => loadConfig(file, ['train.nope=1'])).toThrow(/train\.nope: unknown key/);
    expect(() => loadConfig(file, ['train.lr'])).toThrow(/expected path=value/);
    expect(() => loadConfig(file, ['__proto__.x=1'])).toThrow(/not a valid config path/);
  });

  it('parseSet and applySets do not mutate their input', () => {
    expect(parseSet('a.b=[1,2]')).toEqual({ path: ['a', 'b'], value: [1, 2] });
    expect(parseSet('a=hello')).toEqual({ path: ['a'], value: 'hello' });
    const raw = { train: { lr: 1 } };
    const out = applySets(raw, ['train.lr=2', 'sae.l1=0.1']);
    expect(raw.train.lr).toBe(1);
    expect(out).toEqual({ train: { lr: 2 }, sae: { l1: 0.1 } });
    expect(() => applySets({ train: 5 }, ['train.lr=1'])).toThrow(/not a section/);
  });

  it('explains unreadable and non-JSON files', () => {
    expect(() => loadConfig('/nonexistent/c.json')).toThrow(/cannot read the config file \(no such file\)/);
    expect(() => loadConfig(tmpConfig('{"data": {,}'))).toThrow(/not valid JSON/);
    expect(() => loadConfig(tmpConfig('[1,2]'))).toThrow(/expected a JSON object at the top level, found an array/);
  });

  it('every field of the schema is documented', () => {
    const schema = configJsonSchema() as { properties: Record<string, { description?: string; properties?: Record<string, { description?: string }> }> };
    for (const [section, s] of Object.entries(schema.properties)) {
      expect(s.description, section).toBeTruthy();
      for (const [k, f] of Object.entries(s.properties ?? {})) expect(f.description, `${section}.${k}`).toBeTruthy();
    }
  });

  it('configs/schema.json is in sync with the zod schema (regenerate with `npm run schema`)', () => {
    const committed = JSON.parse(fs.readFileSync(path.resolve('configs/schema.json'), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
  });

  it('every shipped config validates', () => {
    for (const f of fs.readdirSync('configs').filter((n) => n.endsWith('.json') && n !== 'schema.json')) {
      expect(() => loadConfig(path.join('configs', f)), f).not.toThrow();
    }
  });

  it('the README documents every config field (its configuration reference)', () => {
    const readme = fs.readFileSync(path.resolve('README.md'), 'utf8');
    const schema = configJsonSchema() as { properties: Record<string, { properties?: Record<string, unknown> }> };
    for (const [section, s] of Object.entries(schema.properties)) {
      for (const k of Object.keys(s.properties ?? {})) expect(readme, `${section}.${k}`).toContain(`\`${section}.${k}\``);
    }
  });
});
