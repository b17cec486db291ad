// Weight statistics on demand inside the checkpoint summary: they read every tensor's data, so the summary shows
// first and the user asks for them. The section updates in place (button -> progress with Cancel -> L2 bars and a
// statistics table), never replacing the summary around it.
import type { LayerStats, Progress, StatsResult, TensorStats } from '../../src/protocol/results';
import { formatCount } from '../../src/protocol/units';
import { h } from '../dom';
import { formatPercent, formatValue } from '../format';
import { barChart } from './barChart';
import { sortableTable, type Column } from './sortableTable';

export type StatsState =
  | { kind: 'idle' }
  | { kind: 'running'; progress: Progress }
  | { kind: 'done'; result: StatsResult }
  | { kind: 'failed'; title: string; message: string };

export interface StatsActions {
  compute: () => void;
  cancel: () => void;
}

export interface StatsSection {
  element: HTMLElement;
  update: (state: StatsState) => void;
}

export function statsSection(actions: StatsActions): StatsSection {
  const body = h('div', { class: 'stats-body' });
  const element = h('section', { class: 'weight-stats', 'aria-labelledby': 'stats-title' }, h('h2', { id: 'stats-title' }, 'Weight statistics'), body);
  const computeButton = (label: string) => h('vscode-button', { class: 'compute-stats', onclick: actions.compute }, label);
  const update = (state: StatsState) => {
    switch (state.kind) {
      case 'idle':
        body.replaceChildren(h('div', { class: 'stats-offer' },
          h('p', { class: 'muted' }, 'L2, std, absmax, kurtosis, 6σ outliers and stable rank of every tensor. Reads all tensor data.'),
          computeButton('Compute weight statistics'),
        ));
        return;
      case 'running': {
        const percent = state.progress.fraction !== undefined ? ` (${Math.round(state.progress.fraction * 100)}%)` : '';
        body.replaceChildren(h('div', { class: 'stats-running', role: 'status', 'aria-live': 'polite' },
          h('vscode-progress-ring'),
          h('p', { class: 'muted' }, state.progress.message + percent),
          h('vscode-button', { appearance: 'secondary', class: 'cancel-stats', onclick: actions.cancel }, 'Cancel'),
        ));
        return;
      }
      case 'failed':
        body.replaceChildren(h('div', { class: 'stats-offer', role: 'alert' },
          h('div', {}, h('p', { class: 'stats-error-title' }, state.title), h('p', { class: 'error-message' }, state.message)),
          computeButton('Compute weight statistics'),
        ));
        return;
      case 'done':
        body.replaceChildren(...statsResultView(state.result));
        return;
      default: {
        const unexpected: never = state;
        console.error('Importance Lens: unexpected statistics state', unexpected);
      }
    }
  };
  update({ kind: 'idle' });
  return { element, update };
}

function statsResultView(result: StatsResult): HTMLElement[] {
  return [
    h('p', { class: 'muted' }, `${result.tensors.length} tensors · ${formatCount(result.parameters)} parameters · device ${result.device}`),
    ...(result.warnings.length > 0 ? [h('ul', { class: 'warnings', 'aria-label': 'Statistics warnings' }, ...result.warnings.map((w) => h('li', {}, w)))] : []),
    ...(result.layers.length > 0 ? [layerL2(result.layers)] : []),
    statsTable(result.tensors),
  ];
}

function layerL2(layers: LayerStats[]): HTMLElement {
  const bars = layers.map((layer) => {
    const label = layer.index === null ? 'outside blocks' : `layer ${layer.index}`;
    return {
      label,
      value: layer.l2,
      valueText: formatValue(layer.l2),
      title: `${label}: L2 ${formatValue(layer.l2)}, ${formatCount(layer.params)} parameters, kurtosis ${formatValue(layer.kurtosis)}, >6σ ${formatPercent(layer.outliers)}`,
      other: layer.index === null,
    };
  });
  return h('div', { class: 'layer-l2' }, h('h3', { id: 'l2-title' }, 'Weight L2 per layer'), barChart(bars, 'Weight L2 per layer'));
}

function statsTable(tensors: TensorStats[]): HTMLElement {
  const columns: Column<TensorStats>[] = [
    { label: 'Tensor', sortValue: (t) => t.name, cell: (t) => t.name, cellClass: 'mono' },
    { label: 'Layer', numeric: true, sortValue: (t) => t.layer ?? -1, cell: (t) => (t.layer === null ? '—' : String(t.layer)) },
    { label: 'Module', sortValue: (t) => t.module, cell: (t) => h('span', { class: `module module-${t.module.replace('.', '-')}` }, t.module) },
    { label: 'DType', sortValue: (t) => t.dtype, cell: (t) => t.dtype, cellClass: 'mono' },
    { label: 'L2', numeric: true, title: 'Frobenius norm', sortValue: (t) => t.l2, cell: (t) => formatValue(t.l2) },
    { label: 'Std', numeric: true, title: 'Population standard deviation', sortValue: (t) => t.std, cell: (t) => formatValue(t.std) },
    { label: 'Absmax', numeric: true, title: 'Largest |x|', sortValue: (t) => t.absmax, cell: (t) => formatValue(t.absmax) },
    { label: 'Kurtosis', numeric: true, title: 'Excess kurtosis (0 for a normal distribution)', sortValue: (t) => t.kurtosis, cell: (t) => formatValue(t.kurtosis) },
    { label: '>6σ', numeric: true, title: 'Elements more than 6σ from the mean: quantisation sensitivity', sortValue: (t) => t.outliers, cell: (t) => formatPercent(t.outliers) },
    { label: 'Stable rank', numeric: true, title: '‖W‖²_F/‖W‖²_2 of 2-D weights', sortValue: (t) => t.stableRank, cell: (t) => formatValue(t.stableRank) },
  ];
  return sortableTable({
    id: 'stats-tensors',
    heading: 'Statistics per tensor',
    rows: tensors,
    columns,
    filterText: (t) => `${t.name} ${t.module} ${t.dtype}`,
    filterPlaceholder: 'Filter by name, module or dtype',
    className: 'stats-tensors',
  });
}
