/**
 * AssemblyScript, not TypeScript: part of loops.wasm (loops.ts re-exports it), excluded from tsc.
 *
 * The dense step's column passes over a slice's [rows, mk] array (../loops.ts reluColumns and
 * columnSums are the reference): four columns per vector, rows in order, float32 adds, so the
 * sums are the reference's to the bit (an inactive entry adds +0, which changes no sum).
 */

/** In place: f = x where x > 0, else 0; count[c], sum[c] over the active entries of column c. */
export function reluColumns(f: usize, rows: i32, mk: i32, count: usize, sum: usize): void {
  memory.fill(count, 0, <usize>mk << 2);
  memory.fill(sum, 0, <usize>mk << 2);
  const m4 = mk & ~3;
  const one = f32x4.splat(1);
  const zero = f32x4.splat(0);
  for (let b = 0; b < rows; b++) {
    const row = f + ((<usize>b * <usize>mk) << 2);
    for (let c = 0; c < m4; c += 4) {
      const o = <usize>c << 2;
      const x = v128.load(row + o);
      const on = f32x4.gt(x, zero);
      const fx = v128.and(x, on);
      v128.store(row + o, fx);
      v128.store(sum + o, f32x4.add(v128.load(sum + o), fx));
      v128.store(count + o, f32x4.add(v128.load(count + o), v128.and(one, on)));
    }
    for (let c = m4; c < mk; c++) {
      const o = <usize>c << 2;
      const x = load<f32>(row + o);
      if (x > 0) {
        store<f32>(count + o, load<f32>(count + o) + 1);
        store<f32>(sum + o, load<f32>(sum + o) + x);
      } else store<f32>(row + o, 0);
    }
  }
}

/** out[c] = sum over rows b of f[b, c], rows added in order. */
export function columnSums(f: usize, rows: i32, mk: i32, out: usize): void {
  memory.fill(out, 0, <usize>mk << 2);
  const m4 = mk & ~3;
  for (let b = 0; b < rows; b++) {
    const row = f + ((<usize>b * <usize>mk) << 2);
    for (let c = 0; c < m4; c += 4) {
      const o = <usize>c << 2;
      v128.store(out + o, f32x4.add(v128.load(out + o), v128.load(row + o)));
    }
    for (let c = m4; c < mk; c++) {
      const o = <usize>c << 2;
      store<f32>(out + o, load<f32>(out + o) + load<f32>(row + o));
    }
  }
}
