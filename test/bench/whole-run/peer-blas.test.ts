import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { blasCoreCandidates, choosePeerBlas, cpuFlags, fastestBlas, formatBlasChoice, peerEnv } from '../../../src/bench/whole-run/peer-blas.js';
import { formatWholeRuns } from '../../../src/bench/whole-run/report.js';
import type { WholeRunResult } from '../../../src/bench/whole-run/run.js';
import { findTorchPython } from '../../../src/bench/whole-run/torch-peer.js';

const ZEN1 = 'fpu sse sse2 avx fma avx2 bmi2';
const SAPPHIRE = `${ZEN1} avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16 amx_tile`;
const SKYLAKE = `${ZEN1} avx512f avx512dq avx512cd avx512bw avx512vl`;
const flags = (s: string) => new Set(s.split(' '));

describe("the peer's BLAS kernels", () => {
  it('tries OpenBLAS own choice, then every kernel set the CPU flags allow', () => {
    expect(blasCoreCandidates(flags(ZEN1))).toEqual([null, 'Haswell']);
    expect(blasCoreCandidates(flags(SKYLAKE))).toEqual([null, 'Haswell', 'SkylakeX']);
    expect(blasCoreCandidates(flags(SAPPHIRE))).toEqual([null, 'Haswell', 'SkylakeX', 'Cooperlake']);
    expect(blasCoreCandidates(new Set())).toEqual([null]);
  });

  it("reads the first processor's flags from cpuinfo, and none where there is no file", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-cpuinfo-'));
    const f = path.join(dir, 'cpuinfo');
    fs.writeFileSync(f, `processor\t: 0\nmodel name\t: X\nflags\t\t: fpu avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu\n`);
    expect([...cpuFlags(f)]).toEqual(['fpu', 'avx2', 'fma']);
    expect(cpuFlags(path.join(dir, 'absent')).size).toBe(0);
    fs.rmSync(dir, { recursive: true });
  });

  it('keeps the fastest kernel set (a tie keeps the earlier) and sets it only in the peer environment', () => {
    const tried = [
      { coreType: null, core: 'Prescott', gflops: 35 },
      { coreType: 'Haswell', core: 'Haswell', gflops: 150 },
      { coreType: 'SkylakeX', core: 'SkylakeX', gflops: 250 },
      { coreType: 'Cooperlake', core: 'Cooperlake', gflops: 250 },
    ];
    expect(fastestBlas(tried)).toBe('SkylakeX');
    expect(fastestBlas([{ coreType: null, core: 'Zen', gflops: 50 }, { coreType: 'Haswell', core: 'Haswell', gflops: 50 }])).toBeNull();
    expect(peerEnv('SkylakeX')['OPENBLAS_CORETYPE']).toBe('SkylakeX');
    expect(peerEnv(null)).toBe(process.env);
    const line = formatBlasChoice({ threads: 2, coreType: 'SkylakeX', tried });
    expect(line).toBe("The peer's BLAS kernels (OPENBLAS_CORETYPE), matMul GFLOP/s at 2 thread(s): OpenBLAS' own choice (Prescott) 35.0, Haswell 150.0, SkylakeX 250.0, Cooperlake 250.0; it ran SkylakeX.");
    const run = { name: 'B', d: 1, m: 1, batch: 1, steps: 1, lastKernel: 'dense', wallSeconds: 1, loopSeconds: 1, tokensPerSecond: 1, dense: { steps: 1, seconds: 1 }, sparse: { steps: 0, seconds: 0 }, otherSeconds: 0, firstSparseStep: null, l0FirstSteps: [], backend: 'wasm' } as unknown as WholeRunResult;
    const best = { threads: 2, loopSeconds: 1, tokensPerSecond: 1, blasCore: 'SkylakeX', matMulGflops: 250 };
    expect(formatWholeRuns([{ run, peer: { source: 'measured', best, runs: [best], blas: { threads: 2, coreType: 'SkylakeX', tried } }, round: 1 }])).toContain(`\nB: ${line}\n`);
  });

  const python = findTorchPython();
  it.skipIf(!python)('runs the yardstick with each kernel set, which OpenBLAS then reports running', async () => {
    const lines: string[] = [];
    const b = await choosePeerBlas(python!, 1, (l) => lines.push(l), [null, 'Haswell']);
    expect(b.tried.map((t) => t.coreType)).toEqual([null, 'Haswell']);
    expect(b.tried.every((t) => t.gflops > 0)).toBe(true);
    // Where OpenBLAS is found, the kernel set asked for is the one it runs.
    if (b.tried[0]!.core !== null) expect(b.tried[1]!.core).toBe('Haswell');
    expect(b.coreType).toBe(fastestBlas(b.tried));
    expect(lines[0]).toMatch(/^The peer's BLAS kernels .* at 1 thread\(s\): OpenBLAS' own choice/);
  }, 60_000);
});
