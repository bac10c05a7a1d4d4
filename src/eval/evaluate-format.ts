import type { EvalReport } from './evaluate.js';
import type { Distribution } from './selectivity.js';

const f4 = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : String(v));
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

function formatDistribution(name: string, d: Distribution): string {
  const q = d.quantiles;
  return `  ${name.padEnd(22)} mean ${f4(d.mean)}  p10 ${f4(q.p10)}  p50 ${f4(q.p50)}  p90 ${f4(q.p90)}`;
}

/** `sae eval` report as text for a person. */
export function formatEvalReport(r: EvalReport): string {
  const m = r.metrics;
  const h = m.log10DensityHistogram;
  const lines = [
    `${r.run} on ${m.rows} rows (${r.data.length} file${r.data.length > 1 ? 's' : ''}, ${r.backend}, ${r.seconds.toFixed(1)} s)`,
    `  mse ${f4(m.mse)} (per element ${m.msePerElement.toExponential(3)}), nmse ${f4(m.nmse)}, explained variance ${f4(m.explainedVariance)}`,
    `  L0 ${m.l0.toFixed(2)}, L1 ${f4(m.l1)}, shrinkage ||x_hat||/||x|| ${f4(m.shrinkage)}`,
    `  dead ${pct(m.deadFraction)}, dense (> ${m.denseThreshold}) ${pct(m.denseFraction)} of ${m.m} features`,
    `  log10 density: ${h.counts.map((c, i) => (c ? `[${h.edges[i]},${h.edges[i + 1]}):${c}` : '')).filter(Boolean).join(' ')}`,
  ];
  const g = m.groundTruth;
  if (g) {
    lines.push(
      `  ground truth (${g.features} features): MMCS ${f4(g.mmcs)} (|cos| ${f4(g.mmcsAbs)}), matched ${f4(g.matchedMeanAbsCosine)}, ` +
        `recovered >0.9 ${g.recovered090} (${pct(g.recoveredFraction090)}), >0.99 ${g.recovered099} (${pct(g.recoveredFraction099)})`,
    );
  }
  const s = r.selectivity;
  if (s) {
    lines.push(`selectivity (top ${s.topK} activations per unit, units with >= ${s.minExamples} positive examples, ${s.rows} rows):`);
    lines.push(` SAE features (${s.features.measured}/${s.features.units} measured)`);
    lines.push(formatDistribution('top-token share', s.features.topTokenShare), formatDistribution('top-token entropy bits', s.features.topTokenEntropyBits));
    lines.push(` basis directions, positive side (${s.basis.measured}/${s.basis.units} measured)`);
    lines.push(formatDistribution('top-token share', s.basis.topTokenShare), formatDistribution('top-token entropy bits', s.basis.topTokenEntropyBits));
  }
  return lines.join('\n');
}
