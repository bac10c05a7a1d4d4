import { Arena } from '../dist/step/kernels/arena.js';
import { loadSimdLoops } from '../dist/step/kernels/simd-loops.js';
import { productPackFloats } from '../dist/step/kernels/loops.js';
const B = 4096, d = 512, mk = +(process.argv[2] ?? 4096), m = 8192;
const arena = new Arena(4 * (B * d * 2 + d * m + m * d + B * mk + mk * d + 2e6 + 16 * mk * 8 * 16));
const L = loadSimdLoops(arena.memory);
const xc = arena.f32(B * d), G = arena.f32(B * d), Wenc = arena.f32(d * m), Wdec = arena.f32(m * d), f = arena.f32(B * mk), out = arena.f32(B * d), gT = arena.f32(mk * d), bias = arena.f32(mk);
const pk = productPackFloats(B, Math.max(mk, d));
const packA = arena.f32(pk.packA * 4), packB = arena.f32(Math.max(pk.packB, productPackFloats(d, mk, d).packB));
for (const a of [xc, G, Wenc, Wdec]) for (let i = 0; i < a.length; i++) a[i] = Math.random() - 0.5;
const run = (name, p) => { const t = performance.now(); const ok = L.product({ ...p, packA, packB }); const ms = performance.now() - t; const gf = 2 * p.M * p.N * p.K / ms / 1e6; console.log(name.padEnd(10), ok, ms.toFixed(0), 'ms', gf.toFixed(1), 'GF/s'); return ms; };
for (let rep = 0; rep < 2; rep++) {
  let tot = 0;
  tot += run('encode', { M: B, N: mk, K: d, a: xc, ars: d, acs: 1, b: Wenc, brs: m, bcs: 1, bias, c: f, ldc: mk });
  for (let i = 0; i < f.length; i++) if (f[i] < 0) f[i] = 0;
  tot += run('decode', { M: B, N: d, K: mk, a: f, ars: mk, acs: 1, b: Wdec, brs: d, bcs: 1, c: out, ldc: d });
  tot += run('gWdec', { M: mk, N: d, K: B, a: f, ars: 1, acs: mk, b: G, brs: d, bcs: 1, c: gT, ldc: d });
  tot += run('dpre', { M: B, N: mk, K: d, a: G, ars: d, acs: 1, b: Wdec, brs: 1, bcs: d, bias, c: f, ldc: mk, kcMax: d, mask: true });
  tot += run('gWenc', { M: mk, N: d, K: B, a: f, ars: 1, acs: mk, b: xc, brs: d, bcs: 1, c: gT, ldc: d });
  console.log('total', tot.toFixed(0));
}
