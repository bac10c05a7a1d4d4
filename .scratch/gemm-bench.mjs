// node [--experimental-wasm-relaxed-simd] gemm-bench.mjs file.wasm : [4096,512]x[512,4096] on one thread
import fs from 'node:fs';
const mem = new WebAssembly.Memory({ initial: 8000, maximum: 8000 });
const { instance: { exports: ex } } = await WebAssembly.instantiate(fs.readFileSync(process.argv[2]), { env: { memory: mem, abort() {} } });
const M = 4096, K = 512, N = 4096;
let top = 1 << 20; const take = (n) => { const a = top; top += n * 4 + 64; return a; };
const a = take(M * K), b = take(K * N), c = take(M * N), pa = take(128 * 512), pb = take(512 * N);
const f = new Float32Array(mem.buffer);
for (let i = 0; i < (top >> 2); i++) f[i] = Math.random() - 0.5;
let best = 1e9;
for (let r = 0; r < 5; r++) { const t = performance.now(); ex.gemm(M, N, K, a, K, 1, b, N, 1, 0, 0, c, N, 0, 0, pa, pb); best = Math.min(best, performance.now() - t); }
console.log(process.argv[2], (2 * M * N * K / best / 1e6).toFixed(1), 'GFLOP/s', best.toFixed(0), 'ms');
