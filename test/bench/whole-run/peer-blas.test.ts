import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BLAS_SWEEPS, blasCoreCandidates, choosePeerBlas, cpuFlags, fastestBlas, formatBlasChoice, peerEnv, sweepOrder, type Yardstick } from '../../../src/bench/whole-run/peer-blas.js';
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

  it('tries the candidates in sweeps, forward then backward, and keeps each one its best sweep', async () => {
    expect(sweepOrder(3, 3)).toEqual([[0, 1, 2], [2, 1, 0], [0, 1, 2]]);
    expect(sweepOrder(2, 1)).toEqual([[0, 1]]);
    // A machine that slows down for a while: whichever kernel set runs then reads low.
    const calls: Array<string | null> = [];
    const speed: Record<string, number> = { own: 210, Haswell: 210, SkylakeX: 400 };
    const slowCalls = new Set([2, 3]);
    const yardstick = async (_p: string, _t: number, core: string | null): Promise<Yardstick> => {
      const factor = slowCalls.has(calls.length) ? 0.2 : 1;
      calls.push(core);
      return { gflops: speed[core ?? 'own']! * factor, core: core ?? 'Haswell' };
    };
    const lines: string[] = [];
    const b = await choosePeerBlas('python3', 2, (l) => lines.push(l), [null, 'Haswell', 'SkylakeX'], BLAS_SWEEPS, yardstick);
    expect(calls).toEqual([null, 'Haswell', 'SkylakeX', 'SkylakeX', 'Haswell', null, null, 'Haswell', 'SkylakeX']);
    // SkylakeX ran slow in the first sweep (80) and the second (80): one sweep would have chosen Haswell.
    expect(b.tried.map((t) => t.samples)).toEqual([[210, 210, 210], [210, 210, 210], [80, 80, 400]]);
    expect(b.tried.map((t) => t.gflops)).toEqual([210, 210, 400]);
    expect(b.coreType).toBe('SkylakeX');
    expect(lines).toEqual([
      "The peer's BLAS kernels (OPENBLAS_CORETYPE), matMul GFLOP/s at 2 thread(s), best of 3 sweeps (each sweep's in brackets): " +
        "OpenBLAS' own choice (Haswell) 210.0 (210.0/210.0/210.0), Haswell 210.0 (210.0/210.0/210.0), SkylakeX 400.0 (80.0/80.0/400.0); it ran SkylakeX.",
    ]);
    const once = await choosePeerBlas('python3', 2, () => {}, [null, 'Haswell', 'SkylakeX'], 1, async (_p, _t, core) => ({ gflops: core === 'SkylakeX' ? 80 : 210, core }));
    expect(once.coreType).toBeNull();
  });

  const python = findTorchPython();
  it.skipIf(!python)('runs the yardstick with each kernel set, which OpenBLAS then reports running', async () => {
    const lines: string[] = [];
    const b = await choosePeerBlas(python!, 1, (l) => lines.push(l), [null, 'Haswell'], 2);
    expect(b.tried.map((t) => t.coreType)).toEqual([null, 'Haswell']);
    expect(b.tried.every((t) => t.gflops > 0 && t.samples?.length === 2 && t.gflops === Math.max(...t.samples))).toBe(true);
    // Where OpenBLAS is found, the kernel set asked for is the one it runs.
    if (b.tried[0]!.core !== null) expect(b.tried[1]!.core).toBe('Haswell');
    expect(b.coreType).toBe(fastestBlas(b.tried));
    expect(lines[0]).toMatch(/^The peer's BLAS kernels .* at 1 thread\(s\), best of 2 sweeps \(each sweep's in brackets\): OpenBLAS' own choice .* \(\d+\.\d\/\d+\.\d\)/);
  }, 60_000);
});
