import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { checkRunMemory } from '../../src/train/memory-check.js';
import { estimateRunMemory, formatBytes, parseByteSize, RUNTIME_BYTES, WORKER_BYTES } from '../../src/train/memory-estimate.js';
import { availableMemory, parseMemAvailable } from '../../src/util/available-memory.js';
import { rmTmp, tmpDir } from '../helpers/cli.js';

describe('estimateRunMemory', () => {
  it('adds weights, Adam, gradients, batch intermediates, shuffle buffer, runtime (one thread)', () => {
    const e = estimateRunMemory({ d: 2, m: 4, batchSize: 3, shuffleRows: 10, workers: 0 });
    expect(e.items.map((i) => i.bytes)).toEqual([6 * 8 * 4, 4 * 8 * 4, 4 * 12 * 4, 10 * 2 * 4, RUNTIME_BYTES]);
    expect(e.total).toBe(192 + 128 + 192 + 80 + RUNTIME_BYTES);
    expect(e.tensorBytes).toBe(192 + 128 + 192);
  });

  it('adds the workers\' shared memory and runtimes', () => {
    const e = estimateRunMemory({ d: 2, m: 4, batchSize: 4, shuffleRows: 0, workers: 2 });
    const w = e.items.find((i) => i.what === '2 worker threads')!;
    // ... + the screened product's prepared rows: 4 rows of 1 pair, 2 floats and 4 float64 bounds.
    expect(w.bytes).toBe(8 * 8 * 4 + 16 * 4 + 4 * 6 * 4 + (16 + 20) * 4 + (4 + 8 + 32) * 4 + 2 * WORKER_BYTES);
  });

  it('bounds the measured peak of the memory bench from above, by less than 40% (d 256, m 1024, batch 4096, 65,536 rows, 2 workers: 433 MiB on 2026-11-30)', () => {
    // Since the workers' dense step runs on the SIMD products their tfjs heaps no longer hold the
    // [batch, m] intermediates, which the estimate still counts (531-533 MiB measured before).
    const e = estimateRunMemory({ d: 256, m: 1024, batchSize: 4096, shuffleRows: 65536, workers: 2 });
    expect(e.total / 2 ** 20).toBeGreaterThan(433);
    expect(e.total / 2 ** 20).toBeLessThan(433 * 1.4);
  });
});

describe('checkRunMemory', () => {
  const big = estimateRunMemory({ d: 64, m: 100_000_000, batchSize: 4096, shuffleRows: 8192, workers: 2 });
  it('refuses a run above the free memory with the estimate by part and what to lower', () => {
    let err: unknown;
    try {
      checkRunMemory(big, { available: { bytes: 16 * 2 ** 30, source: 'MemAvailable in /proc/meminfo' }, backend: 'cpu' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.message).toMatch(/^this run needs about 11\.7 TiB of memory \(batch intermediates \[batch, width\] 6\.0 TiB, 2 worker threads 5\.5 TiB, weights and Adam moments 143 GiB, /);
    expect(e.message).toContain('more than the 16.0 GiB available (MemAvailable in /proc/meminfo)');
    expect(e.hint).toMatch(/^The largest part is batch intermediates \[batch, width\]: lower train\.batchSize or sae\.width\./);
    expect(e.hint).toContain('--max-memory');
  });

  it('uses --max-memory as the budget when given, and the wasm heap limit on wasm', () => {
    const small = estimateRunMemory({ d: 64, m: 512, batchSize: 1024, shuffleRows: 8192, workers: 0 });
    expect(() => checkRunMemory(small, { available: { bytes: 2 ** 40, source: 'x' }, backend: 'cpu' })).not.toThrow();
    expect(() => checkRunMemory(small, { available: { bytes: 2 ** 40, source: 'x' }, maxMemory: 100 * 2 ** 20, backend: 'cpu' })).toThrow(
      /more than the 100 MiB available \(--max-memory\)/,
    );
    const wide = estimateRunMemory({ d: 512, m: 1_000_000, batchSize: 64, shuffleRows: 64, workers: 0 });
    expect(() => checkRunMemory(wide, { available: { bytes: 2 ** 50, source: 'x' }, backend: 'wasm' })).toThrow(/more than the wasm backend's 4\.0 GiB heap/);
    expect(() => checkRunMemory(wide, { available: { bytes: 2 ** 50, source: 'x' }, backend: 'cpu' })).not.toThrow();
  });
});

describe('sizes and free memory', () => {
  const root = tmpDir('sae-mem-');
  afterAll(() => rmTmp(root));

  it('parses and formats sizes', () => {
    expect(parseByteSize('8G')).toBe(8 * 2 ** 30);
    expect(parseByteSize('512MiB')).toBe(512 * 2 ** 20);
    expect(parseByteSize('1.5gb')).toBe(1.5 * 2 ** 30);
    expect(parseByteSize('1000')).toBe(1000);
    for (const bad of ['', 'lots', '-1G', '0', '8X']) expect(parseByteSize(bad), bad).toBeNull();
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1.5 * 2 ** 30)).toBe('1.5 GiB');
  });

  it('reads MemAvailable and the smaller cgroup room', () => {
    expect(parseMemAvailable('MemTotal: 100 kB\nMemAvailable:   2048 kB\n')).toBe(2048 * 1024);
    expect(parseMemAvailable('MemTotal: 100 kB\n')).toBeNull();
    fs.mkdirSync(path.join(root, 'proc'));
    fs.mkdirSync(path.join(root, 'sys/fs/cgroup'), { recursive: true });
    fs.writeFileSync(path.join(root, 'proc/meminfo'), 'MemAvailable: 4194304 kB\n');
    fs.writeFileSync(path.join(root, 'sys/fs/cgroup/memory.max'), 'max\n');
    expect(availableMemory(root + '/')).toEqual({ bytes: 4 * 2 ** 30, source: 'MemAvailable in /proc/meminfo' });
    fs.writeFileSync(path.join(root, 'sys/fs/cgroup/memory.max'), String(2 * 2 ** 30));
    fs.writeFileSync(path.join(root, 'sys/fs/cgroup/memory.current'), String(2 ** 30));
    expect(availableMemory(root + '/')).toEqual({ bytes: 2 ** 30, source: 'the cgroup memory limit (memory.max)' });
  });
});
