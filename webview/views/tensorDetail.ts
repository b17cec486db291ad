// One tensor opened from the table: where it lives, its statistics (when computed) and the histogram of its values
// (computed in the analysis process on demand: one streamed read of the tensor).
import type { HistogramResult, InspectTensor, TensorStats } from '../../src/protocol/results';
import { formatBytes, formatCount } from '../../src/protocol/units';
import { basename, h, svg } from '../dom';
import { formatPercent, formatValue } from '../format';

export type HistogramState =
  | { kind: 'unavailable'; why: string }
  | { kind: 'running' }
  | { kind: 'done'; result: HistogramResult }
  | { kind: 'failed'; message: string };

export interface TensorDetailActions {
  close: () => void;
  /** Scrolls the table to the tensor's row. */
  showRow: () => void;
}

export function tensorDetail(t: InspectTensor, stats: TensorStats | undefined, histogram: HistogramState, actions: TensorDetailActions): HTMLElement {
  const facts: [string, string][] = [
    ['dtype', t.dtype], ['shape', `[${t.shape.join(', ')}]`], ['parameters', formatCount(t.count)],
    ['layer', t.layer === null ? 'outside blocks' : String(t.layer)], ['module', t.module],
    ['file', basename(t.file)], ['bytes', `${formatBytes(t.byteLength)} at offset ${t.byteOffset.toLocaleString('en-US')}`],
  ];
  return h('aside', { class: 'tensor-detail', 'aria-labelledby': 'tensor-detail-title' },
    h('div', { class: 'detail-head' },
      h('h3', { id: 'tensor-detail-title', class: 'mono' }, t.name),
      h('vscode-button', { appearance: 'icon', 'aria-label': 'Close the tensor detail', title: 'Close', class: 'detail-close', onclick: actions.close }, '✕'),
    ),
    h('a', { href: '#', class: 'source-link small', onclick: (e: Event) => (e.preventDefault(), actions.showRow()) }, 'Show its row in the table'),
    h('dl', { class: 'facts' }, ...facts.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', { class: k === 'shape' || k === 'file' ? 'mono' : '' }, v)))),
    h('h4', {}, 'Statistics'),
    stats ? statsGrid(stats) : h('p', { class: 'muted' }, 'Compute weight statistics (Layers view) for L2, std, kurtosis and outliers.'),
    h('h4', {}, 'Histogram'),
    histogramView(histogram),
  );
}

function statsGrid(s: TensorStats): HTMLElement {
  const fields: [string, string, string][] = [
    ['L2', formatValue(s.l2), 'Frobenius norm'], ['mean', formatValue(s.mean), 'Mean'], ['std', formatValue(s.std), 'Population standard deviation'],
    ['absmax', formatValue(s.absmax), 'Largest |x|'], ['zeros', formatPercent(s.zeros), 'Exact zeros'], ['kurtosis', formatValue(s.kurtosis), 'Excess kurtosis'],
    ['>6σ', formatPercent(s.outliers), 'Elements more than 6σ from the mean'], ['stable rank', formatValue(s.stableRank), stableRankTitle(s)],
    ...(s.nonFinite > 0 ? [['non-finite', formatCount(s.nonFinite), 'NaN and ±Inf elements'] as [string, string, string]] : []),
  ];
  return h('dl', { class: 'arch-grid detail-stats' }, ...fields.map(([k, v, title]) => h('div', { title }, h('dt', {}, k), h('dd', {}, v))));
}

/** The bound travels in the tooltip: the exact value lies within stableRank·(1 − bound) and stableRank. */
function stableRankTitle(s: TensorStats): string {
  const bound = s.stableRankBound;
  return typeof bound === 'number' ? `‖W‖²_F/‖W‖²_2, within ${(bound * 100).toPrecision(2)} % (Lanczos residual bound)` : '‖W‖²_F/‖W‖²_2';
}

function histogramView(state: HistogramState): HTMLElement {
  switch (state.kind) {
    case 'unavailable':
      return h('p', { class: 'muted' }, state.why);
    case 'running':
      return h('div', { class: 'job-running', role: 'status' }, h('vscode-progress-ring'), h('p', { class: 'muted' }, 'Reading the tensor…'));
    case 'failed':
      return h('p', { class: 'error-message', role: 'alert' }, state.message);
    case 'done':
      return histogramChart(state.result);
    default: {
      const unexpected: never = state;
      return h('p', {}, String(unexpected));
    }
  }
}

/** Plain SVG: one bar per bin, exact edges and count in each bar's tooltip, the range under the axis. */
export function histogramChart(result: HistogramResult): HTMLElement {
  const width = 320;
  const height = 120;
  const bins = result.counts.length;
  const max = Math.max(...result.counts, 1);
  const total = result.counts.reduce((s, c) => s + c, 0);
  const barWidth = width / bins;
  const first = result.edges[0]!;
  const last = result.edges[bins]!;
  const zero = first < 0 && last > 0 ? ((0 - first) / (last - first)) * width : null;
  const chart = svg('svg', { class: 'histogram', viewBox: `0 0 ${width} ${height + 16}`, width: '100%', role: 'img', 'aria-label': `Histogram of ${result.tensor}: ${bins} bins from ${formatValue(first)} to ${formatValue(last)}` },
    ...result.counts.map((count, i) => {
      const barHeight = count === 0 ? 0 : Math.max(1, (count / max) * height);
      return svg('rect', { class: 'bar', x: i * barWidth + 0.5, y: height - barHeight, width: Math.max(barWidth - 1, 0.5), height: barHeight },
        svg('title', {}, `[${result.edges[i]}, ${result.edges[i + 1]}${i === bins - 1 ? ']' : ')'}: ${count.toLocaleString('en-US')} values (${formatPercent(total > 0 ? count / total : 0)})`));
    }),
    svg('line', { class: 'axis', x1: 0, x2: width, y1: height + 0.5, y2: height + 0.5 }),
    zero === null ? null : svg('line', { class: 'zero', x1: zero, x2: zero, y1: 0, y2: height }),
    svg('text', { class: 'axis-label', x: 0, y: height + 13 }, formatValue(first)),
    svg('text', { class: 'axis-label', x: width, y: height + 13, 'text-anchor': 'end' }, formatValue(last)),
    zero === null || zero < 40 || zero > width - 40 ? null : svg('text', { class: 'axis-label', x: zero, y: height + 13, 'text-anchor': 'middle' }, '0'),
  );
  return h('figure', { class: 'histogram-figure' }, chart,
    h('figcaption', { class: 'muted small' }, `${bins} equal-width bins · ${formatCount(total)} values${result.nonFinite > 0 ? ` · ${formatCount(result.nonFinite)} NaN/Inf left out` : ''}`));
}
