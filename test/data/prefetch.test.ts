import { describe, expect, it } from 'vitest';
import { prefetch } from '../../src/data/prefetch.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('prefetch', () => {
  it('yields the same items in order', async () => {
    async function* src() {
      for (let i = 0; i < 5; i++) {
        await tick();
        yield i;
      }
    }
    const got: number[] = [];
    for await (const v of prefetch(src())) got.push(v);
    expect(got).toEqual([0, 1, 2, 3, 4]);
  });

  it('produces the next item while the consumer is busy with the current one', async () => {
    const events: string[] = [];
    async function* src() {
      for (let i = 0; i < 3; i++) {
        events.push(`produce ${i}`);
        await tick();
        yield i;
      }
    }
    for await (const v of prefetch(src())) {
      events.push(`consume ${v} start`);
      await new Promise((r) => setTimeout(r, 20));
      events.push(`consume ${v} end`);
    }
    expect(events.indexOf('produce 1')).toBeLessThan(events.indexOf('consume 0 end'));
    expect(events.indexOf('produce 2')).toBeLessThan(events.indexOf('consume 1 end'));
  });

  it('passes on an error of the source, and closes the source when the consumer stops early', async () => {
    async function* failing() {
      yield 1;
      throw new Error('bad shard');
    }
    await expect(async () => {
      for await (const v of prefetch(failing())) void v;
    }).rejects.toThrow('bad shard');

    let closed = false;
    async function* endless() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    for await (const v of prefetch(endless())) if (v === 2) break;
    expect(closed).toBe(true);
  });
});
