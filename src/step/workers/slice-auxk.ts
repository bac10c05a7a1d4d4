/**
 * AuxK (sae/auxk.ts, Gao et al. 2024 section 2.4) over one slice of the features, for the worker
 * step: the slice's dead latents above the row's AuxK threshold reconstruct the residual
 * (their partial e_hat), and, given r = e_hat - e over the whole batch, add their gradients:
 *   gPre_bi = s <r_b, W_dec[i]>,  gb_enc[i] += sum_b gPre_bi,  gW_enc[:, i] += sum_b gPre_bi xc_b,
 *   gW_dec[i] += s sum_b f_bi r_b,   with s = 2 coefficient / total variance of e.
 * b_dec's term, -W_enc gb_enc, follows from gb_enc with the main one (slice-compute.ts).
 */
import type { ActiveRows } from '../kernels/loops.js';

/** The slice's AuxK entries as compressed rows (global feature indices), grown on demand. */
export class AuxRows implements ActiveRows {
  rowPtr = new Int32Array(1);
  col = new Int32Array(0);
  val = new Float32Array(0);

  /**
   * The entries of pre [rows, mk] (columns i0 + c) at the dead columns deadLocal whose value is
   * above the row's threshold. Returns their count.
   */
  scan(pre: Float32Array, rows: number, mk: number, i0: number, deadLocal: Int32Array, threshold: Float32Array): number {
    if (this.rowPtr.length < rows + 1) this.rowPtr = new Int32Array(rows + 1);
    const most = rows * deadLocal.length;
    if (this.col.length < most) {
      this.col = new Int32Array(most);
      this.val = new Float32Array(most);
    }
    let n = 0;
    this.rowPtr[0] = 0;
    for (let b = 0; b < rows; b++) {
      const t = threshold[b]!;
      for (let q = 0; q < deadLocal.length; q++) {
        const c = deadLocal[q]!;
        const v = pre[b * mk + c]!;
        if (v > t) {
          this.col[n] = i0 + c;
          this.val[n] = v;
          n++;
        }
      }
      this.rowPtr[b + 1] = n;
    }
    return n;
  }
}

/**
 * Adds AuxK's gradients of the slice's entries (AuxRows) to gW_enc [d, m], gb_enc [m], gW_dec [m, d].
 * r [rows, d] = e_hat - e; xc [rows, d]; scale = 2 coefficient / total variance.
 */
export function addAuxGradients(
  rows: number,
  d: number,
  m: number,
  aux: ActiveRows,
  r: Float32Array,
  scale: number,
  xc: Float32Array,
  W_dec: Float32Array,
  gW_enc: Float32Array,
  gb_enc: Float32Array,
  gW_dec: Float32Array,
): void {
  const { rowPtr, col, val } = aux;
  for (let b = 0; b < rows; b++) {
    const ro = b * d;
    for (let q = rowPtr[b]!; q < rowPtr[b + 1]!; q++) {
      const i = col[q]!;
      const wo = i * d;
      let dot = 0;
      for (let j = 0; j < d; j++) dot += r[ro + j]! * W_dec[wo + j]!;
      const gp = scale * dot;
      const gv = scale * val[q]!;
      gb_enc[i]! += gp;
      for (let j = 0; j < d; j++) {
        gW_enc[j * m + i]! += gp * xc[ro + j]!;
        gW_dec[wo + j]! += gv * r[ro + j]!;
      }
    }
  }
}
