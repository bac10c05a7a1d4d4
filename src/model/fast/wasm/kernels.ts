/**
 * AssemblyScript, not TypeScript: compiled by `asc` at build time (package.json "build") to
 * dist/model/fast/wasm/kernels.wasm, and excluded from tsc.
 *
 * The no-gradient forward path's loops in WebAssembly SIMD (../forward.ts runs a Llama block with
 * them): products, RMSNorm, SwiGLU and causal grouped-query attention, with float32 accumulation
 * and a polynomial exp within ~1e-7 relative. The tfjs path (../../llama.ts) is the reference; the
 * attention's plain version is ../attention-reference.ts. The module owns its memory (exported);
 * the caller places every array at a byte address of its choosing above the first 64 KiB.
 * Loads and stores need no alignment.
 */

// Cephes' expf: exp(x) = 2^n exp(r), r = x - n ln2 in [-ln2/2, ln2/2], a degree-6 polynomial for exp(r).
@inline function exp4(x: v128): v128 {
  const under = f32x4.lt(x, f32x4.splat(-87.0));
  const xc = f32x4.min(f32x4.max(x, f32x4.splat(-87.0)), f32x4.splat(88.0));
  const n = f32x4.nearest(f32x4.mul(xc, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1.0));
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  // exp of a masked (-inf) or far-below-max score is exactly 0, as in the tfjs path.
  return v128.bitselect(f32x4.splat(0.0), f32x4.mul(y, pow2n), under);
}

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

@inline function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

/**
 * c [n, outD] = a [n, inD] w [inD, outD], four rows by eight columns at a time (eight v128
 * accumulators: the x86 backend has sixteen registers). For a large `w`, rows go in chunks of
 * ~64 KiB of `a` and each eight-column strip of `w` serves a whole chunk while it sits in L1 (a
 * [768, 2048] `w` would otherwise stream from memory for every four rows).
 */
export function matmul(n: i32, inD: i32, outD: i32, a: usize, w: usize, c: usize): void {
  const o8 = outD & ~7;
  const rowA = <usize>inD << 2;
  const rowW = <usize>outD << 2;
  // A w of up to 128 KiB stays in L2 anyway: then four rows at a time keep `a`'s rows in L1.
  const chunk = inD * outD <= 32768 ? 4 : max(4, (16384 / inD) & ~3);
  let i = 0;
  while (i + 4 <= n) {
    const iEnd = i + min(chunk, (n - i) & ~3);
    for (let j = 0; j < o8; j += 8) {
      const col = <usize>j << 2;
      for (let r = i; r < iEnd; r += 4) block4x8(a + <usize>r * rowA, rowA, w + col, rowW, inD, c + <usize>r * rowW + col);
    }
    for (let r = i; r < iEnd; r++) matmulTail(a + <usize>r * rowA, w, c + <usize>r * rowW, inD, outD, o8);
    i = iEnd;
  }
  for (; i < n; i++) {
    const ar = a + <usize>i * rowA;
    const cr = c + <usize>i * rowW;
    for (let j = 0; j < o8; j += 8) {
      const col = <usize>j << 2;
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
      let wp = w + col;
      for (let k = 0; k < inD; k++) {
        const x = v128.load32_splat(ar + (<usize>k << 2));
        s0 = f32x4.add(s0, f32x4.mul(x, v128.load(wp)));
        s1 = f32x4.add(s1, f32x4.mul(x, v128.load(wp, 16)));
        wp += rowW;
      }
      v128.store(cr + col, s0);
      v128.store(cr + col, s1, 16);
    }
    matmulTail(ar, w, cr, inD, outD, o8);
  }
}

/** c[0..4, 0..8] = a[0..4, :] w[:, 0..8]: rows of a at stride rowA, of w and c at stride rowW. */
@inline function block4x8(a0: usize, rowA: usize, w: usize, rowW: usize, inD: i32, c0: usize): void {
  const a1 = a0 + rowA;
  const a2 = a1 + rowA;
  const a3 = a2 + rowA;
  let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s10 = f32x4.splat(0), s11 = f32x4.splat(0);
  let s20 = f32x4.splat(0), s21 = f32x4.splat(0), s30 = f32x4.splat(0), s31 = f32x4.splat(0);
  let wp = w;
  for (let k = 0; k < inD; k++) {
    const w0 = v128.load(wp);
    const w1 = v128.load(wp, 16);
    const ko = <usize>k << 2;
    let x = v128.load32_splat(a0 + ko);
    s00 = f32x4.add(s00, f32x4.mul(x, w0));
    s01 = f32x4.add(s01, f32x4.mul(x, w1));
    x = v128.load32_splat(a1 + ko);
    s10 = f32x4.add(s10, f32x4.mul(x, w0));
    s11 = f32x4.add(s11, f32x4.mul(x, w1));
    x = v128.load32_splat(a2 + ko);
    s20 = f32x4.add(s20, f32x4.mul(x, w0));
    s21 = f32x4.add(s21, f32x4.mul(x, w1));
    x = v128.load32_splat(a3 + ko);
    s30 = f32x4.add(s30, f32x4.mul(x, w0));
    s31 = f32x4.add(s31, f32x4.mul(x, w1));
    wp += rowW;
  }
  const c1 = c0 + rowW;
  const c2 = c1 + rowW;
  const c3 = c2 + rowW;
  v128.store(c0, s00);
  v128.store(c0, s01, 16);
  v128.store(c1, s10);
  v128.store(c1, s11, 16);
  v128.store(c2, s20);
  v128.store(c2, s21, 16);
  v128.store(c3, s30);
  v128.store(c3, s31, 16);
}

/** Columns from..outD of one row of the product (widths that are not a multiple of 8). */
@inline function matmulTail(ar: usize, w: usize, cr: usize, inD: i32, outD: i32, from: i32): void {
  for (let j = from; j < outD; j++) {
    let s: f32 = 0;
    for (let k = 0; k < inD; k++) s += load<f32>(ar + (<usize>k << 2)) * load<f32>(w + ((<usize>k * <usize>outD + <usize>j) << 2));
    store<f32>(cr + (<usize>j << 2), s);
  }
}

/** out [n, d] = x / sqrt(mean(x^2) + eps) * w, per row. */
export function rmsNorm(n: i32, d: i32, x: usize, w: usize, eps: f32, out: usize): void {
  const d4 = d & ~3;
  for (let i = 0; i < n; i++) {
    const xr = x + ((<usize>i * <usize>d) << 2);
    const or = out + ((<usize>i * <usize>d) << 2);
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j < d4; j += 4) {
      const v = v128.load(xr + (<usize>j << 2));
      acc = f32x4.add(acc, f32x4.mul(v, v));
    }
    let ss = hsum(acc);
    for (; j < d; j++) {
      const v = load<f32>(xr + (<usize>j << 2));
      ss += v * v;
    }
    const scale = <f32>1.0 / Mathf.sqrt(ss / <f32>d + eps);
    const sv = f32x4.splat(scale);
    for (j = 0; j < d4; j += 4) {
      const o = <usize>j << 2;
      v128.store(or + o, f32x4.mul(f32x4.mul(v128.load(xr + o), sv), v128.load(w + o)));
    }
    for (; j < d; j++) store<f32>(or + (<usize>j << 2), load<f32>(xr + (<usize>j << 2)) * scale * load<f32>(w + (<usize>j << 2)));
  }
}

/** out [n, f] = silu(gate) * up for gu [n, 2f] = [gate | up] per row; silu(g) = g / (1 + exp(-g)). */
export function swiglu(n: i32, f: i32, gu: usize, out: usize): void {
  const f4 = f & ~3;
  const one = f32x4.splat(1.0);
  for (let i = 0; i < n; i++) {
    const g = gu + ((<usize>i * <usize>(2 * f)) << 2);
    const u = g + (<usize>f << 2);
    const or = out + ((<usize>i * <usize>f) << 2);
    let j = 0;
    for (; j < f4; j += 4) {
      const o = <usize>j << 2;
      const gv = v128.load(g + o);
      const sig = f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(gv))));
      v128.store(or + o, f32x4.mul(f32x4.mul(gv, sig), v128.load(u + o)));
    }
    for (; j < f; j++) {
      const gv = load<f32>(g + (<usize>j << 2));
      store<f32>(or + (<usize>j << 2), (gv / (<f32>1.0 + Mathf.exp(-gv))) * load<f32>(u + (<usize>j << 2)));
    }
  }
}

/** x [len] += y [len]. */
export function addInto(len: i32, x: usize, y: usize): void {
  const l4 = len & ~3;
  let i = 0;
  for (; i < l4; i += 4) {
    const o = <usize>i << 2;
    v128.store(x + o, f32x4.add(v128.load(x + o), v128.load(y + o)));
  }
  for (; i < len; i++) store<f32>(x + (<usize>i << 2), load<f32>(x + (<usize>i << 2)) + load<f32>(y + (<usize>i << 2)));
}

/** dst [len] = a [len] * c [len] + b [len] * s [len] (a rotary embedding, weights.ts's layout). */
@inline function rotateRow(len: i32, dst: usize, a: usize, b: usize, c: usize, s: usize): void {
  const l4 = len & ~3;
  let i = 0;
  for (; i < l4; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(f32x4.mul(v128.load(a + o), v128.load(c + o)), f32x4.mul(v128.load(b + o), v128.load(s + o))));
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(a + o) * load<f32>(c + o) + load<f32>(b + o) * load<f32>(s + o));
  }
}

/**
 * Rotary embeddings for one sequence of `len` rows of the packed projections qkv [len, Q | QR | K |
 * KR | V] at positions past.., with tables cos/sin [positions, qDim]: q [len, qDim] token-major,
 * k and v [kvHeads, len, hd] head-major.
 */
export function rope(len: i32, past: i32, nHeads: i32, nKvHeads: i32, hd: i32, qkv: usize, cos: usize, sin: usize, q: usize, k: usize, v: usize): void {
  const qDim = nHeads * hd;
  const kvDim = nKvHeads * hd;
  const width = 2 * qDim + 3 * kvDim;
  for (let t = 0; t < len; t++) {
    const row = qkv + ((<usize>t * <usize>width) << 2);
    const tab = (<usize>(past + t) * <usize>qDim) << 2;
    rotateRow(qDim, q + ((<usize>t * <usize>qDim) << 2), row, row + (<usize>qDim << 2), cos + tab, sin + tab);
    for (let g = 0; g < nKvHeads; g++) {
      const dst = (<usize>((g * len + t) * hd)) << 2;
      const src = row + (<usize>(2 * qDim + g * hd) << 2);
      const gt = tab + (<usize>(g * hd) << 2);
      rotateRow(hd, k + dst, src, src + (<usize>kvDim << 2), cos + gt, sin + gt);
      memory.copy(v + dst, src + (<usize>(2 * kvDim) << 2), <usize>hd << 2);
    }
  }
}

/**
 * q [batch, seq, nHeads * hd], k and v [batch, nKvHeads, past + seq, hd] -> out [batch, seq,
 * nHeads * hd]. scratch: (hd + 4) * keys8 + 4 * hd floats, keys8 = past + seq rounded up to 8.
 * Blocks of four query rows (one head) by eight keys, as a product: q k^T into four score rows,
 * keys after a row's own position set to -inf (exp gives exactly 0), then p v over the keys the
 * block's last row sees, eight output columns at a time.
 */
export function attention(batch: i32, seq: i32, past: i32, nHeads: i32, nKvHeads: i32, hd: i32, q: usize, k: usize, v: usize, out: usize, scratch: usize): void {
  const keys = past + seq;
  const keys8 = (keys + 7) & ~7;
  const group = nHeads / nKvHeads;
  const qDim = nHeads * hd;
  const qRow = <usize>qDim << 2;
  const scale = <f32>(1.0 / Math.sqrt(<f64>hd));
  const rowBytes = <usize>keys8 << 2;
  const kT = scratch;
  const P = kT + <usize>hd * rowBytes;
  const qTmp = P + 4 * rowBytes;
  const hdBytes = <usize>hd << 2;
  const hd4 = hd & ~3;
  const hd8 = hd & ~7;
  for (let b = 0; b < batch; b++) {
    for (let g = 0; g < nKvHeads; g++) {
      const src = (<usize>((b * nKvHeads + g) * keys * hd)) << 2;
      const vb = v + src;
      for (let j = 0; j < keys8; j++) {
        for (let d = 0; d < hd; d++) {
          store<f32>(kT + <usize>d * rowBytes + (<usize>j << 2), j < keys ? load<f32>(k + src + (<usize>(j * hd + d) << 2)) * scale : 0);
        }
      }
      for (let hh = 0; hh < group; hh++) {
        const h = g * group + hh;
        for (let i0 = 0; i0 < seq; i0 += 4) {
          const rows = min(4, seq - i0);
          // A last block of fewer than four rows reads copies of them (the unused rows are repeats).
          let qa = q + <usize>(b * seq + i0) * qRow + (<usize>(h * hd) << 2);
          let qStride = qRow;
          if (rows < 4) {
            for (let r = 0; r < 4; r++) memory.copy(qTmp + <usize>r * hdBytes, qa + <usize>min(r, rows - 1) * qRow, hdBytes);
            qa = qTmp;
            qStride = hdBytes;
          }
          const nLast = past + i0 + rows;
          const n8 = (nLast + 7) & ~7;
          for (let j = 0; j < n8; j += 8) block4x8(qa, qStride, kT + (<usize>j << 2), rowBytes, hd, P + (<usize>j << 2));
          // Softmax of each row over the keys it sees; the rest of its block becomes exactly 0.
          let inv0: f32 = 0, inv1: f32 = 0, inv2: f32 = 0, inv3: f32 = 0;
          for (let r = 0; r < rows; r++) {
            const pr = P + <usize>r * rowBytes;
            const seen = past + i0 + r + 1;
            for (let t = seen; t < n8; t++) store<f32>(pr + (<usize>t << 2), -Infinity);
            let vmax = f32x4.splat(-Infinity);
            for (let j = 0; j < n8; j += 4) vmax = f32x4.max(vmax, v128.load(pr + (<usize>j << 2)));
            const m = f32x4.splat(hmax(vmax));
            let vsum = f32x4.splat(0);
            for (let j = 0; j < n8; j += 4) {
              const o = pr + (<usize>j << 2);
              const e = exp4(f32x4.sub(v128.load(o), m));
              v128.store(o, e);
              vsum = f32x4.add(vsum, e);
            }
            const inv = <f32>1.0 / hsum(vsum);
            if (r == 0) inv0 = inv;
            else if (r == 1) inv1 = inv;
            else if (r == 2) inv2 = inv;
            else inv3 = inv;
          }
          if (rows < 4) for (let r = rows; r < 4; r++) memory.fill(P + <usize>r * rowBytes, 0, <usize>n8 << 2);
          const o0 = out + <usize>(b * seq + i0) * qRow + (<usize>(h * hd) << 2);
          const o1 = o0 + qRow;
          const o2 = o1 + qRow;
          const o3 = o2 + qRow;
          let c = 0;
          for (; c < hd8; c += 8) {
            let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
            let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
            let vp = vb + (<usize>c << 2);
            const vStride = <usize>hd << 2;
            for (let j = 0; j < nLast; j++) {
              const v0 = v128.load(vp);
              const v1 = v128.load(vp, 16);
              const jo = P + (<usize>j << 2);
              let x = v128.load32_splat(jo);
              a00 = f32x4.add(a00, f32x4.mul(x, v0));
              a01 = f32x4.add(a01, f32x4.mul(x, v1));
              x = v128.load32_splat(jo + rowBytes);
              a10 = f32x4.add(a10, f32x4.mul(x, v0));
              a11 = f32x4.add(a11, f32x4.mul(x, v1));
              x = v128.load32_splat(jo + 2 * rowBytes);
              a20 = f32x4.add(a20, f32x4.mul(x, v0));
              a21 = f32x4.add(a21, f32x4.mul(x, v1));
              x = v128.load32_splat(jo + 3 * rowBytes);
              a30 = f32x4.add(a30, f32x4.mul(x, v0));
              a31 = f32x4.add(a31, f32x4.mul(x, v1));
              vp += vStride;
            }
            const co = <usize>c << 2;
            v128.store(o0 + co, f32x4.mul(a00, f32x4.splat(inv0)));
            v128.store(o0 + co, f32x4.mul(a01, f32x4.splat(inv0)), 16);
            if (rows > 1) {
              v128.store(o1 + co, f32x4.mul(a10, f32x4.splat(inv1)));
              v128.store(o1 + co, f32x4.mul(a11, f32x4.splat(inv1)), 16);
            }
            if (rows > 2) {
              v128.store(o2 + co, f32x4.mul(a20, f32x4.splat(inv2)));
              v128.store(o2 + co, f32x4.mul(a21, f32x4.splat(inv2)), 16);
            }
            if (rows > 3) {
              v128.store(o3 + co, f32x4.mul(a30, f32x4.splat(inv3)));
              v128.store(o3 + co, f32x4.mul(a31, f32x4.splat(inv3)), 16);
            }
          }
          for (; c < hd; c++) {
            for (let r = 0; r < rows; r++) {
              const pr = P + <usize>r * rowBytes;
              let s: f32 = 0;
              for (let j = 0; j < nLast; j++) s += load<f32>(pr + (<usize>j << 2)) * load<f32>(vb + (<usize>(j * hd + c) << 2));
              const inv = r == 0 ? inv0 : r == 1 ? inv1 : r == 2 ? inv2 : inv3;
              store<f32>(out + <usize>(b * seq + i0 + r) * qRow + (<usize>(h * hd + c) << 2), s * inv);
            }
          }
        }
      }
    }
  }
}
