// Human-readable renderings for the CLI without --json.
import type { DeltaResult, ExpertsResult, InspectResult, LayersResult, PerplexityResult, SaliencyResult, SaliencyStability, StatsResult } from '../protocol/results';
import { formatBytes, formatCount } from '../protocol/units';
import { table } from './terminalText';


export function renderInspect(result: InspectResult): string {
  const a = result.architecture;
  const arch = [
    `family ${a.family ?? '?'}`, `layers ${a.layers ?? '?'}`, `hidden ${a.hidden ?? '?'}`, `heads ${a.heads ?? '?'}`,
    `kv heads ${a.kvHeads ?? '?'}`, `intermediate ${a.intermediate ?? '?'}`, `vocab ${a.vocab ?? '?'}`,
    ...(a.experts !== null ? [`experts ${a.experts}`] : []),
  ].join(', ');
  const lines = [
    `${result.path}: ${result.format}, ${formatCount(result.parameters)} parameters${result.activeParameters !== undefined ? ` (${formatCount(result.activeParameters)} active per token)` : ''} in ${result.tensors.length} tensors, ${formatBytes(result.bytes)} in ${result.files.length} file(s)`,
    `architecture (${a.source === 'config' ? 'from config.json' : a.source === 'metadata' ? 'from the file\'s metadata' : 'inferred from tensors'}): ${arch}`,
    ...(result.adapter ? [`adapter: ${result.adapter.peftType ?? '?'} r ${result.adapter.r ?? '?'}, alpha ${result.adapter.alpha ?? '?'}, scale ${result.adapter.scale ?? '?'}, ${result.adapter.pairs} A/B pairs, targets ${result.adapter.targetModules.join(', ') || '?'}, base ${result.adapter.baseModel ?? '?'}`] : []),
    ...result.warnings.map((w) => `warning: ${w}`),
    '',
    table([
      ['name', 'dtype', 'shape', 'params', 'layer', 'module'],
      ...result.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`, formatCount(t.count), t.layer === null ? '-' : String(t.layer), t.module]),
    ]),
  ];
  return lines.join('\n');
}

const num = (value: number | null, digits = 4) => (value === null ? '-' : Math.abs(value) >= 1e4 || (value !== 0 && Math.abs(value) < 1e-3) ? value.toExponential(2) : value.toFixed(digits));

export function renderStats(result: StatsResult): string {
  return [
    `${result.path}: ${formatCount(result.parameters)} parameters in ${result.tensors.length} tensors (device: ${result.device})`,
    ...result.warnings.map((w) => `warning: ${w}`),
    '',
    table([
      ['name', 'dtype', 'shape', 'l2', 'mean', 'std', 'absmax', 'zeros', 'kurtosis', '>6σ', 'srank'],
      ...result.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`, num(t.l2), num(t.mean), num(t.std), num(t.absmax), num(t.zeros, 3), num(t.kurtosis, 2), num(t.outliers, 5), num(t.stableRank, 1)]),
    ]),
    '',
    table([
      ['layer', 'params', 'share', 'l2', 'kurtosis', '>6σ'],
      ...result.layers.map((l) => [l.index === null ? 'other' : String(l.index), formatCount(l.params), `${(l.share * 100).toFixed(1)}%`, num(l.l2), num(l.kurtosis, 2), num(l.outliers, 5)]),
    ]),
  ].join('\n');
}

export function renderLayers(result: LayersResult): string {
  const max = Math.max(...result.layers.map((l) => l.score), 1e-30);
  return [
    `${result.path}: layer importance by ${result.metric} (device: ${result.device}; rank 1 = most important)`,
    ...result.warnings.map((w) => `warning: ${w}`),
    '',
    table([
      ['layer', 'rank', 'score', ''],
      ...result.layers.map((l) => [String(l.index), String(l.rank), num(l.score), '█'.repeat(Math.max(1, Math.round((l.score / max) * 30)))]),
    ]),
  ].join('\n');
}

export function renderDelta(result: DeltaResult): string {
  const pct = (value: number) => `${(value * 100).toFixed(1)}%`;
  const share = (value: number | null | undefined) => (value === null || value === undefined ? '-' : pct(value));
  const { totals, fisher } = result;
  // With a Fisher text, each row also gets Σ F·Δ² and its share (delta --fisher-text).
  const fisherHeads = fisher ? ['Σ F·Δ²', 'F share'] : [];
  return [
    `${result.tuned} vs base ${result.base}: ${totals.compared} tensors compared, ‖Δ‖ ${num(totals.deltaL2)}, ‖Δ‖/‖W‖ ${num(totals.relative)} (device: ${result.device})`,
    ...(fisher ? [`Fisher of the base on ${fisher.predicted} predicted tokens (${fisher.text.tokens} tokens${fisher.text.truncated ? ', text cut at --max-tokens' : ''}): Σ F·Δ² ${num(fisher.total)} over the block tensors`] : []),
    ...result.warnings.map((w) => `warning: ${w}`),
    ...result.mismatched.map((m) => `not compared: ${m.name} (${m.reason}: ${m.detail})`),
    '',
    table([
      ['name', 'dtype', 'shape', '‖Δ‖', '‖Δ‖/‖W‖', 'sign flips', 'changed', 'DARE drop', ...fisherHeads],
      ...result.tensors.map((t) => [t.name, t.dtype === t.baseDtype ? t.dtype : `${t.baseDtype}->${t.dtype}`, `[${t.shape.join(', ')}]`, num(t.deltaL2), num(t.relative), pct(t.signConflict), pct(t.changed), pct(t.dropTolerance),
        ...(fisher ? [num(t.fisherWeighted ?? null), share(t.fisherShare)] : [])]),
    ]),
    '',
    table([
      ['layer', 'rank', 'params', '‖Δ‖', '‖Δ‖/‖W‖', ...fisherHeads, ...(fisher ? ['F rank'] : [])],
      ...result.layers.map((l) => [l.index === null ? 'other' : String(l.index), l.rank === null ? '-' : String(l.rank), formatCount(l.params), num(l.deltaL2), num(l.relative),
        ...(fisher ? [num(l.fisherWeighted ?? null), share(l.fisherShare), l.fisherRank === null || l.fisherRank === undefined ? '-' : String(l.fisherRank)] : [])]),
    ]),
  ].join('\n');
}

export function renderPerplexity(result: PerplexityResult): string {
  return [
    `${result.path}: perplexity ${result.perplexity.toFixed(3)} (mean NLL ${result.nll.toFixed(4)} nats over ${result.predicted} predicted tokens, ${result.windows} window(s); device: ${result.device})`,
    ...(result.truncated ? [`note: the text was cut to its first ${result.tokens} tokens (--max-tokens)`] : []),
    ...result.warnings.map((w) => `warning: ${w}`),
  ].join('\n');
}

export function renderSaliency(result: SaliencyResult): string {
  const max = Math.max(...result.tokens.map((t) => Math.abs(t.score)), 1e-30);
  return [
    `${result.path}: ${result.method} saliency for ${JSON.stringify(result.target.text)} (log p = ${result.target.logProbability.toFixed(3)}; ${result.seeds} seed(s); device: ${result.device})`,
    ...(result.delta !== undefined ? [`integrated gradients over ${result.steps} steps: convergence delta ${num(result.delta)} (|Σ scores − (log p(text) − log p(zero embeddings))|)`] : []),
    ...(result.masks !== undefined ? [`random replacement: ${result.masks} masks per seed`] : []),
    ...result.warnings.map((w) => `warning: ${w}`),
    '',
    table([
      ['token', 'chars', 'score', 'sd', ''],
      ...result.tokens.map((t) => [JSON.stringify(t.text), `${t.start}-${t.end}`, num(t.score), num(t.seedSd ?? t.sd), (t.score >= 0 ? '+' : '-').repeat(Math.max(1, Math.round((Math.abs(t.score) / max) * 20)))]),
    ]),
  ].join('\n');
}

/** --compare: per token mean, sd and SNR over the checkpoints, then each pair's rank agreement. */
export function renderStability(s: SaliencyStability): string {
  const agreement = (x: number | null) => (x === null ? '—' : x.toFixed(3));
  const snr = (x: number | null) => (x === null ? '∞' : num(x));
  return [
    `stability over ${s.checkpoints.length} checkpoints (${s.checkpoints.map((c, i) => `#${i + 1} ${c.path}`).join(', ')}):`,
    `rank agreement: mean Spearman ρ ${agreement(s.rankAgreement)}, Kendall τ-b ${agreement(s.kendall)}, top-${s.topK} overlap ${s.topKOverlap.toFixed(3)}`,
    'snr = mean² / sd² over the checkpoints (∞: every checkpoint gives the same non-zero score); |mean|/sd = √snr',
    '',
    table([
      ['token', 'chars', 'mean', 'sd', 'snr', '|mean|/sd', ...s.checkpoints.map((_, i) => `#${i + 1}`)],
      ...s.tokens.map((t) => [JSON.stringify(t.text), `${t.start}-${t.end}`, num(t.mean), num(t.sd), snr(t.snr), snr(t.meanOverSd), ...t.scores.map((x) => num(x))]),
    ]),
    '',
    table([
      ['pair', 'Spearman ρ', 'Kendall τ-b', `top-${s.topK} overlap`],
      ...s.pairs.map((p) => [`#${p.a + 1} vs #${p.b + 1}`, agreement(p.spearman), agreement(p.kendall), p.topK.toFixed(3)]),
    ]),
  ].join('\n');
}

export function renderExperts(result: ExpertsResult): string {
  const gate = (g: number | null) => (g === null ? '—' : g.toFixed(3));
  const taylor = result.blocks.some((b) => b.experts.some((e) => e.taylor !== null));
  return [
    `${result.path}: expert importance (${result.modelType}, ${result.experts} experts, top-${result.topK}; ${result.tokens} tokens, mean NLL ${result.nll.toFixed(4)}; device: ${result.device})`,
    'score = Δ mean NLL (nats) with the expert dropped and its tokens re-routed to the next choice; rank 1 = most important in its block',
    ...(result.denseBlocks.length > 0 ? [`dense blocks (no experts): ${result.denseBlocks.join(', ')}`] : []),
    ...(result.truncated ? [`note: the text was cut to its first ${result.tokens} tokens (--max-tokens)`] : []),
    ...result.warnings.map((w) => `warning: ${w}`),
    '',
    // The taylor column only where it was computed (experts --taylor).
    table([
      ['block', 'expert', 'share', 'mean gate', 'score', 'rank', 'output change', ...(taylor ? ['taylor'] : [])],
      ...result.blocks.flatMap((b) => b.experts.map((e) => [
        String(b.index), String(e.index), `${(e.share * 100).toFixed(1)}%`, gate(e.meanGate), e.score.toFixed(5), String(e.rank), e.outputChange.toFixed(4),
        ...(taylor ? [e.taylor === null ? '—' : e.taylor.toPrecision(4)] : []),
      ])),
    ]),
  ].join('\n');
}
