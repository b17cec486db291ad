// A fine-tuned checkpoint against its base: totals, how far each layer moved (bars of ‖Δ‖/‖W‖ or ‖Δ‖ with rank),
// every compared tensor (sortable, filterable) and the tensors that could not be compared, with the reason. With
// the base's Fisher on a text (delta --fisher-text), Σ F·Δ² per layer (a third bar choice) and per tensor.
import type { DeltaMismatch, DeltaResult, LayerDelta, TensorDelta } from '../../src/protocol/results';
import { formatCount } from '../../src/protocol/units';
import { basename, h } from '../dom';
import { formatPercent, formatValue } from '../format';
import { barChart } from './barChart';
import { sortableTable, type Column } from './sortableTable';

/** What the panel can ask the host for (absent in a standalone report). */
export interface DeltaActions {
  weighByFisher(): void;
}

export function deltaView(result: DeltaResult, actions?: DeltaActions): HTMLElement {
  const fisher = result.fisher !== undefined;
  return h('main', { class: 'delta' },
    header(result, actions),
    result.warnings.length > 0 ? h('ul', { class: 'warnings', 'aria-label': 'Warnings' }, ...result.warnings.map((w) => h('li', {}, w))) : null,
    layerSection(result.layers, fisher),
    result.tensors.length > 0 ? tensorTable(result.tensors, fisher) : null,
    mismatchSection(result.mismatched),
  );
}

function header(result: DeltaResult, actions?: DeltaActions): HTMLElement {
  const { totals, fisher } = result;
  const fields: [string, string, string][] = [
    ['tensors compared', String(totals.compared), 'Tensors present in both checkpoints with the same shape'],
    ['‖Δ‖', formatValue(totals.deltaL2), 'Frobenius norm of tuned − base over all compared tensors'],
    ['‖Δ‖/‖W‖', formatPercent(totals.relative), '‖Δ‖ relative to the base weights’ norm'],
    ['not compared', String(result.mismatched.length), 'Tensors only in one checkpoint, with another shape, or undecodable'],
    ['device', result.device, 'Where the comparison ran'],
    ...(fisher ? [
      ['Σ F·Δ²', formatValue(fisher.total), 'The change weighed by the base’s diagonal empirical Fisher on the text, over the block tensors'] as [string, string, string],
      ['Fisher text', `${fisher.predicted} tokens predicted${fisher.text.truncated ? ' (cut)' : ''}`, `F = mean over these tokens of the squared gradient of each token’s NLL, on ${fisher.model}`] as [string, string, string],
    ] : []),
  ];
  const weigh = actions
    ? h('div', { class: 'table-tools' }, h('vscode-button', {
      appearance: 'secondary',
      title: 'Weigh each change by how much the base relies on the weight: Σ F·Δ² with the base’s diagonal empirical Fisher on a text (one backward pass per token)',
      onclick: () => actions.weighByFisher(),
    }, fisher ? 'Weight by Fisher on another text…' : 'Weight by Fisher on a text…'))
    : null;
  return h('header', {},
    h('h1', {}, basename(result.tuned), h('span', { class: 'muted vs' }, ' vs base '), basename(result.base)),
    h('p', { class: 'muted mono' }, `tuned ${result.tuned}`),
    h('p', { class: 'muted mono' }, `base ${result.base}`),
    h('dl', { class: 'arch-grid totals' }, ...fields.map(([label, value, title]) => h('div', { title }, h('dt', {}, label), h('dd', {}, value)))),
    weigh,
  );
}

type LayerMetric = 'relative' | 'deltaL2' | 'fisher';

function layerSection(layers: LayerDelta[], fisher: boolean): HTMLElement | null {
  if (layers.length === 0) return null;
  let metric: LayerMetric = 'relative';
  const choices = h('div', { class: 'table-tools', role: 'group', 'aria-label': 'Bar length' });
  const chartHolder = h('div', {});
  // The subtitle says what the bars and their ranks are: by ‖Δ‖, or by Σ F·Δ² when the Fisher-weighted bars show.
  const subtitle = h('span', { class: 'muted small subtitle' });
  // The toolkit button takes its look from `appearance` when created, so the choices are rebuilt on a switch.
  const choice = (key: LayerMetric, label: string) => h('vscode-button', {
    class: 'metric-choice',
    appearance: key === metric ? 'primary' : 'secondary',
    'aria-pressed': String(key === metric),
    onclick: () => ((metric = key), render()),
  }, label);
  const render = () => {
    const hadFocus = choices.contains(document.activeElement);
    choices.replaceChildren(choice('relative', '‖Δ‖/‖W‖'), choice('deltaL2', '‖Δ‖'), ...(fisher ? [choice('fisher', 'Σ F·Δ²')] : []));
    if (hadFocus) (choices.querySelector('[aria-pressed="true"]') as HTMLElement | null)?.focus();
    const title = metric === 'relative' ? 'Relative change per layer' : metric === 'fisher' ? 'Fisher-weighted change per layer' : 'Change per layer';
    chartHolder.replaceChildren(barChart(layers.map((layer) => layerBar(layer, metric)), title));
    subtitle.textContent = metric === 'fisher'
      ? 'Fisher-weighted change Σ F·Δ²: the change weighed by how much the base relies on each weight; rank 1 = largest Σ F·Δ²'
      : 'rank 1 = changed most (by ‖Δ‖)';
  };
  render();
  return h('section', { 'aria-labelledby': 'delta-layers-title' },
    h('h2', { id: 'delta-layers-title' }, 'Change per layer ', subtitle),
    choices,
    chartHolder,
  );
}

function layerBar(layer: LayerDelta, metric: LayerMetric) {
  const label = layer.index === null ? 'outside blocks' : `layer ${layer.index}`;
  const fisher = metric === 'fisher';
  const shownRank = fisher ? (layer.fisherRank ?? null) : layer.rank;
  const rank = shownRank === null ? '' : ` · #${shownRank}`;
  const value = metric === 'relative' ? layer.relative : fisher ? (layer.fisherWeighted ?? null) : layer.deltaL2;
  const valueText = metric === 'relative' ? formatPercent(layer.relative) : fisher ? `${formatValue(layer.fisherWeighted ?? null)} (${formatPercent(layer.fisherShare ?? null)})` : formatValue(layer.deltaL2);
  const weighed = layer.fisherWeighted === undefined ? '' : `, Σ F·Δ² ${formatValue(layer.fisherWeighted)} (${formatPercent(layer.fisherShare ?? null)} of the total${layer.fisherRank ? `, rank ${layer.fisherRank}` : ''})`;
  return {
    label,
    value,
    valueText: `${valueText}${rank}`,
    title: `${label}: ‖Δ‖ ${formatValue(layer.deltaL2)}, ‖Δ‖/‖W‖ ${formatPercent(layer.relative)}${weighed}, ${formatCount(layer.params)} parameters${layer.rank === null ? '' : `, rank ${layer.rank} by ‖Δ‖`}`,
    other: layer.index === null,
  };
}

function tensorTable(tensors: TensorDelta[], fisher: boolean): HTMLElement {
  const largestRelative = Math.max(...tensors.map((t) => t.relative ?? 0), 1e-12);
  const columns: Column<TensorDelta>[] = [
    { label: 'Tensor', sortValue: (t) => t.name, cell: (t) => t.name, cellClass: 'mono' },
    { label: 'Layer', numeric: true, sortValue: (t) => t.layer ?? -1, cell: (t) => (t.layer === null ? '—' : String(t.layer)) },
    { label: 'Module', sortValue: (t) => t.module, cell: (t) => h('span', { class: `module module-${t.module.replace('.', '-')}` }, t.module) },
    { label: 'DType', sortValue: (t) => t.dtype, cell: (t) => (t.dtype === t.baseDtype ? t.dtype : `${t.baseDtype}→${t.dtype}`), cellClass: 'mono' },
    { label: '‖Δ‖', numeric: true, title: 'Frobenius norm of tuned − base', sortValue: (t) => t.deltaL2, cell: (t) => formatValue(t.deltaL2) },
    { label: '‖Δ‖/‖W‖', numeric: true, title: '‖Δ‖ relative to the base tensor’s norm', sortValue: (t) => t.relative, cell: (t) => relativeCell(t, largestRelative) },
    { label: 'Sign flips', numeric: true, title: 'Elements whose sign flipped (TIES sign conflicts)', sortValue: (t) => t.signConflict, cell: (t) => formatPercent(t.signConflict) },
    { label: 'Changed', numeric: true, title: 'Elements that changed at all', sortValue: (t) => t.changed, cell: (t) => formatPercent(t.changed) },
    { label: 'DARE drop', numeric: true, title: 'Fraction of Δ (smallest first) that can be dropped keeping ‖Δ‖ within 1%', sortValue: (t) => t.dropTolerance, cell: (t) => formatPercent(t.dropTolerance) },
    ...(fisher ? [
      { label: 'Σ F·Δ²', numeric: true, title: 'The change weighed by the base’s Fisher on the text (— outside blocks: no gradient)', sortValue: (t: TensorDelta) => t.fisherWeighted ?? -1, cell: (t: TensorDelta) => (t.fisherWeighted === null || t.fisherWeighted === undefined ? '—' : formatValue(t.fisherWeighted)) },
      { label: 'F share', numeric: true, title: 'Share of the total Σ F·Δ²', sortValue: (t: TensorDelta) => t.fisherShare ?? -1, cell: (t: TensorDelta) => formatPercent(t.fisherShare ?? null) },
    ] : []),
  ];
  return sortableTable({
    id: 'delta-tensors',
    heading: 'Tensors',
    rows: tensors,
    columns,
    filterText: (t) => `${t.name} ${t.module} ${t.dtype}`,
    filterPlaceholder: 'Filter by name, module or dtype',
    sort: { column: 5, descending: true },
    className: 'delta-tensors',
  });
}

/** The number and a bar scaled to the most-changed tensor, so the table reads at a glance. */
function relativeCell(t: TensorDelta, largest: number): HTMLElement {
  const bar = h('span', { class: 'share-bar' });
  bar.style.width = `${Math.max(((t.relative ?? 0) / largest) * 100, 0.5)}%`;
  return h('span', { class: 'value-with-bar' }, h('span', {}, formatPercent(t.relative)), h('span', { class: 'share-track' }, bar));
}

const REASONS: Record<DeltaMismatch['reason'], string> = {
  'only-in-base': 'only in base',
  'only-in-tuned': 'only in tuned',
  shape: 'shape differs',
  undecodable: 'cannot decode',
};

function mismatchSection(mismatched: DeltaMismatch[]): HTMLElement | null {
  if (mismatched.length === 0) return null;
  return h('section', { 'aria-labelledby': 'mismatch-title' },
    h('h2', { id: 'mismatch-title' }, 'Mismatched ', h('span', { class: 'muted small' }, `${mismatched.length} tensors not compared`)),
    h('table', { class: 'tensors mismatched' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Tensor'), h('th', { scope: 'col' }, 'Reason'), h('th', { scope: 'col' }, 'Detail'))),
      h('tbody', {}, ...mismatched.map((m) => h('tr', { class: 'row' },
        h('td', { class: 'mono' }, m.name),
        h('td', {}, h('span', { class: `reason reason-${m.reason}` }, REASONS[m.reason])),
        h('td', { class: 'detail' }, m.detail),
      ))),
    ),
  );
}
