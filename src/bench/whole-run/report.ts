import type { WholeRunRow } from './bench.js';
import { median } from '../train-bench.js';
import { formatAllocChoice } from './peer-alloc.js';
import { formatBlasChoice } from './peer-blas.js';
import { slowPeerWarning, type PeerRun } from './torch-peer.js';

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Whole runs as text: one row per run beside the peer, then L0 over the first hundred steps. */
export function formatWholeRuns(rows: WholeRunRow[]): string {
  if (!rows.length) return '';
  const lines = [
    '| run | d | m | batch | steps | ran last | wall s | loop s | tokens/s | dense steps | dense s | sparse steps | sparse s | other s | first sparse step | PyTorch loop s | PyTorch tokens/s | PyTorch threads (BLAS) | time vs PyTorch |',
    '|' + ' --- |'.repeat(19),
  ];
  const rounds = Math.max(...rows.map((x) => x.round));
  for (const { run: r, peer, round } of rows) {
    const p = peer?.best;
    const counts = (runs: PeerRun[]) => runs.map((x) => `${x.threads}: ${fmt(x.tokensPerSecond)}`).join(', ');
    const probed = peer?.probes ? `probes of ${peer.probes.steps} steps ${counts(peer.probes.runs)}; full run ` : '';
    const who = !peer ? '-' : peer.source === 'given' ? 'given by flag' : probed + counts(peer.runs) + ` (${p!.blasCore ?? 'no OpenBLAS'}${p!.matMulGflops !== undefined ? `, matMul ${fmt(p!.matMulGflops, 1)} GFLOP/s` : ''})`;
    lines.push(
      `| ${rounds > 1 ? `${r.name}, round ${round}` : r.name} | ${r.d} | ${r.m} | ${r.batch} | ${r.steps} | ${r.lastKernel} | ${fmt(r.wallSeconds, 1)} | ${fmt(r.loopSeconds, 1)} | ${fmt(r.tokensPerSecond)} | ` +
        `${r.dense.steps} | ${fmt(r.dense.seconds, 1)} | ${r.sparse.steps} | ${fmt(r.sparse.seconds, 1)} | ${fmt(r.otherSeconds, 1)} | ${r.firstSparseStep ?? '-'} | ` +
        `${p ? fmt(p.loopSeconds, 1) : '-'} | ${p ? fmt(p.tokensPerSecond) : '-'} | ${who} | ${p ? `${fmt(r.loopSeconds / p.loopSeconds, 2)}x` : '-'} |`,
    );
  }
  const warnings = rows.map(({ peer }) => (peer ? slowPeerWarning(peer) : null)).filter((w): w is string => w !== null);
  if (warnings.length) lines.push('', ...[...new Set(warnings)].map((w) => `Warning: ${w}`));
  if (rounds > 1) {
    lines.push('', 'Time vs PyTorch by round (ours, then the peer, alternating):');
    for (const name of [...new Set(rows.map((x) => x.run.name))]) {
      const ratios = rows.filter((x) => x.run.name === name && x.peer).map((x) => x.run.loopSeconds / x.peer!.best.loopSeconds);
      if (ratios.length) lines.push(`  ${name}: ${ratios.map((q) => `${fmt(q, 2)}x`).join(', ')}; median ${fmt(median(ratios), 2)}x`);
    }
  }
  const peerSettings = rows
    .filter((x) => x.round === 1)
    .flatMap(({ run, peer }) => [peer?.blas ? `${run.name}: ${formatBlasChoice(peer.blas)}` : null, peer?.allocator ? `${run.name}: ${formatAllocChoice(peer.allocator)}` : null])
    .filter((l): l is string => l !== null);
  if (peerSettings.length) lines.push('', ...peerSettings);
  lines.push('');
  // Every round of a case trains the same steps on the same data: its backend and first L0s once.
  const firstRounds = rows.filter((x) => x.round === 1);
  lines.push('Backend: ' + firstRounds.map(({ run: r }) => `${r.name} on ${r.backend}`).join('; '));
  lines.push('L0 in the first steps (step: L0):');
  for (const { run: r } of firstRounds) {
    const at = [1, 2, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100].filter((s) => s <= r.l0FirstSteps.length);
    lines.push(`  ${r.name} (m=${r.m}): ` + at.map((s) => `${s}: ${fmt(r.l0FirstSteps[s - 1]!, 0)}`).join(', '));
  }
  return lines.join('\n') + '\n';
}
