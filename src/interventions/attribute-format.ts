import path from 'node:path';
import type { AttributionResult } from './attribute.js';

const num = (x: number | null, digits = 3): string => (x === null ? '-' : (x >= 0 ? '+' : '') + x.toFixed(digits));

/** The attribution table as text. */
export function formatAttribution(r: AttributionResult): string {
  const lines = [
    `${r.hook} of ${path.basename(r.model)}, dictionary ${r.run}`,
    `prompt (${r.promptTokens.length} tokens): ${r.promptTokens.map((t) => JSON.stringify(t)).join(' ')}`,
    `target: ${JSON.stringify(r.target.token)} (${r.target.chosen === 'model' ? "the model's top next token" : 'given'}), log p = ${r.target.logp.toFixed(3)} (p = ${Math.exp(r.target.logp).toFixed(3)})`,
    `${r.active} active (feature, position) pairs; the ${r.rows.length} with the largest activation x gradient, each ablated (error term kept) to measure:`,
    '  feature  pos  token          activation  est. dlogp  measured dlogp  fires on (top examples)',
  ];
  for (const a of r.rows) {
    lines.push(
      `  ${String(a.feature).padStart(7)}  ${String(a.position).padStart(3)}  ${JSON.stringify(a.token).padEnd(13)}  ${a.activation.toFixed(3).padStart(10)}  ${num(a.estimatedEffect).padStart(10)}  ${num(a.measuredEffect).padStart(14)}  ${a.topTokens ? a.topTokens.map((t) => JSON.stringify(t)).join(' ') : '(no feature statistics)'}`,
    );
  }
  return lines.join('\n');
}
