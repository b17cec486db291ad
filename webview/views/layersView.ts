// The Layers view: one horizontal bar per block for the chosen metric (parameters, weight L2 from the statistics,
// the text metrics computed so far), sorted by index or by score, each block expandable into its modules and
// tensors; a rank-agreement strip (Spearman's ρ) once two or more metrics rank the blocks; the jobs that compute
// the metrics (weight statistics, layer importance on text) on top, with progress and Cancel.
import type { InspectResult, InspectTensor, TensorStats } from '../../src/protocol/results';
import { formatCount } from '../../src/protocol/units';
import { h, svg } from '../dom';
import { formatPercent, formatValue } from '../format';
import { pairwiseAgreement, type RankedSeries } from '../rankAgreement';

export interface LayerScore {
  index: number;
  score: number;
  /** 1 = most important. */
  rank: number;
  /** What the bar shows when not the score itself (ablation: the rise over the full model's perplexity). */
  shown?: number;
}

export interface LayerSeries {
  key: string;
  label: string;
  /** One line: what the number means. */
  note: string;
  layers: LayerScore[];
  format: (value: number) => string;
  /** Parameter counts rank nothing: they are left out of the agreement strip. */
  ranks: boolean;
}

export type LayerSort = 'index' | 'score';

export interface LayersViewOptions {
  result: InspectResult;
  /** The job cards (weight statistics, layer importance on text). */
  jobs: HTMLElement[];
  metric: string;
  sort: LayerSort;
  onChange: (metric: string, sort: LayerSort) => void;
  /** Opens config.json on num_hidden_layers; undefined when there is no config or no host. */
  openConfig?: () => void;
  showTensor: (name: string) => void;
}

export interface LayersView {
  element: HTMLElement;
  /** The metrics available now; `focus` picks one (a metric just computed). */
  setSeries(series: LayerSeries[], stats: Map<string, TensorStats> | null, focus?: string): void;
}

/** ρ as a bar from the middle of a track: right (chart colour) for agreement, left ("other" colour) for reversal. */
function rhoBar(rho: number | null): SVGElement {
  const half = 30;
  const length = rho === null ? 0 : Math.abs(rho) * half;
  return svg('svg', { class: 'rho-bar', width: half * 2 + 2, height: 10, 'aria-hidden': 'true' },
    svg('rect', { class: 'rho-track', x: 0.5, y: 0.5, width: half * 2 + 1, height: 9, rx: 2 }),
    rho === null ? null : svg('rect', { class: rho >= 0 ? 'bar' : 'bar other', x: rho >= 0 ? half + 1 : half + 1 - length, y: 2, width: Math.max(length, 1), height: 6 }),
    svg('line', { class: 'rho-axis', x1: half + 1, x2: half + 1, y1: 0, y2: 10 }),
  );
}

/** Ranks by score, largest first (rank 1); ties keep index order. */
export function rankScores(scores: { index: number; score: number }[]): LayerScore[] {
  const order = [...scores].sort((a, b) => b.score - a.score || a.index - b.index);
  const rank = new Map(order.map((s, i) => [s.index, i + 1]));
  return scores.map((s) => ({ ...s, rank: rank.get(s.index)! }));
}

export function layersView(options: LayersViewOptions): LayersView {
  const { result } = options;
  let metric = options.metric;
  let sort = options.sort;
  let series: LayerSeries[] = [];
  let stats: Map<string, TensorStats> | null = null;
  const expanded = new Set<number>();
  const byLayer = new Map<number, InspectTensor[]>();
  for (const t of result.tensors) if (t.layer !== null) byLayer.set(t.layer, [...(byLayer.get(t.layer) ?? []), t]);

  const tools = h('div', { class: 'layer-tools', role: 'toolbar', 'aria-label': 'Layer bars' });
  const note = h('p', { class: 'series-note muted' });
  const strip = h('div', { class: 'rank-strip' });
  const rows = h('div', { class: 'layer-rows', role: 'list', 'aria-label': 'Layers' });
  const source = h('p', { class: 'muted small layer-source' });
  const element = h('section', { class: 'layers-view', 'aria-label': 'Layers' },
    h('div', { class: 'jobs' }, ...options.jobs), tools, note, strip, rows, source);

  const current = () => series.find((s) => s.key === metric) ?? series[0];

  let toolsDrawn = '';
  const renderTools = () => {
    // Toolkit controls are costly to create: rebuilt only when the metrics, the one shown or the sort change.
    const signature = `${series.map((s) => s.key).join()}|${current()?.key}|${sort}`;
    if (signature === toolsDrawn) return;
    toolsDrawn = signature;
    const focused = tools.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.focusKey : undefined;
    const dropdown = h('vscode-dropdown', { class: 'layer-view-metric', 'aria-label': 'Metric shown' },
      ...series.map((s) => h('vscode-option', { value: s.key, selected: s.key === current()?.key }, s.label)));
    dropdown.dataset.focusKey = 'metric';
    dropdown.addEventListener('change', (event) => {
      event.stopPropagation(); // not the view switcher's change
      metric = (dropdown as HTMLElement & { value: string }).value;
      options.onChange(metric, sort);
      render();
    });
    const sortButton = (key: LayerSort, label: string) => {
      const button = h('vscode-button', {
        class: 'layer-sort', appearance: key === sort ? 'primary' : 'secondary', 'aria-pressed': String(key === sort),
        onclick: () => {
          sort = key;
          options.onChange(metric, sort);
          render();
        },
      }, label);
      button.dataset.focusKey = `sort-${key}`;
      return button;
    };
    tools.replaceChildren(
      h('label', { class: 'muted' }, 'Metric'), dropdown,
      h('span', { class: 'muted tool-gap' }, 'Sort'), sortButton('index', 'Layer order'), sortButton('score', 'Score'),
    );
    if (focused) (tools.querySelector(`[data-focus-key="${focused}"]`) as HTMLElement | null)?.focus();
  };

  const render = () => {
    renderTools();
    const shown = current();
    if (!shown) {
      rows.replaceChildren(h('p', { class: 'muted' }, 'This checkpoint has no blocks to compare.'));
      return;
    }
    note.textContent = shown.note;
    renderStrip();
    const layers = sort === 'score' ? [...shown.layers].sort((a, b) => a.rank - b.rank) : [...shown.layers].sort((a, b) => a.index - b.index);
    const values = layers.map((l) => l.shown ?? l.score);
    const max = Math.max(...values, 0) || 1;
    rows.replaceChildren(...layers.map((layer) => layerRow(shown, layer, max, layers.length)));
  };

  const renderStrip = () => {
    const ranked = series.filter((s) => s.ranks);
    if (ranked.length < 2) {
      strip.replaceChildren();
      strip.hidden = true;
      return;
    }
    strip.hidden = false;
    const agreement = pairwiseAgreement(ranked.map((s): RankedSeries => ({ key: s.key, label: s.label, scores: new Map(s.layers.map((l) => [l.index, l.score])) })));
    strip.replaceChildren(
      h('span', { class: 'muted strip-title', title: 'Spearman rank correlation of the per-layer scores: 1 = the same order, 0 = unrelated, −1 = reversed' }, 'Rank agreement (Spearman ρ)'),
      ...agreement.map((pair) => {
        const rho = pair.rho;
        const cell = h('span', {
          class: 'rho', role: 'img',
          'aria-label': `${pair.a.label} and ${pair.b.label}: rho ${rho === null ? 'undefined' : rho.toFixed(2)} over ${pair.layers} layers`,
          title: `${pair.a.label} vs ${pair.b.label}: ρ = ${rho === null ? 'undefined (a constant series)' : rho.toFixed(4)} over ${pair.layers} layers`,
        }, rhoBar(rho), `${pair.a.label} ↔ ${pair.b.label}`, h('strong', {}, rho === null ? '—' : rho.toFixed(2)));
        return cell;
      }),
    );
  };

  const layerRow = (shown: LayerSeries, layer: LayerScore, max: number, count: number): HTMLElement => {
    const value = layer.shown ?? layer.score;
    const open = expanded.has(layer.index);
    const detailId = `layer-detail-${layer.index}`;
    const params = (byLayer.get(layer.index) ?? []).reduce((sum, t) => sum + t.count, 0);
    const exact = `layer ${layer.index} · ${shown.label}: ${layer.shown !== undefined ? `${layer.shown} (score ${layer.score})` : String(layer.score)}${shown.ranks ? ` · rank ${layer.rank} of ${count}` : ''} · ${params.toLocaleString('en-US')} parameters`;
    const width = Math.max(0, value) / max;
    const bar = svg('svg', { class: 'bar-track', 'aria-hidden': 'true', preserveAspectRatio: 'none' },
      svg('rect', { class: value < 0 ? 'bar other' : 'bar', x: 0, y: 0, height: '100%', width: `${Math.max(width * 100, value > 0 ? 0.5 : 0)}%`, rx: 2 }));
    const toggle = h('button', {
      class: 'layer-toggle', 'aria-expanded': String(open), 'aria-controls': detailId, title: exact,
      onclick: () => {
        if (expanded.has(layer.index)) expanded.delete(layer.index);
        else expanded.add(layer.index);
        const fresh = layerRow(shown, layer, max, count);
        row.replaceWith(fresh);
        (fresh.querySelector('.layer-toggle') as HTMLElement).focus();
      },
    }, h('span', { class: 'chevron', 'aria-hidden': 'true' }, open ? '▾' : '▸'), `layer ${layer.index}`);
    const row = h('div', { class: 'layer-item', role: 'listitem' },
      h('div', { class: 'layer-row', title: exact },
        toggle, bar, h('span', { class: 'layer-value' }, shown.format(value), shown.ranks ? h('span', { class: 'muted' }, ` · #${layer.rank}`) : null)),
      open ? moduleBreakdown(layer.index, detailId) : null,
    );
    return row;
  };

  const moduleBreakdown = (index: number, id: string): HTMLElement => {
    const tensors = byLayer.get(index) ?? [];
    const modules = new Map<string, InspectTensor[]>();
    for (const t of tensors) modules.set(t.module, [...(modules.get(t.module) ?? []), t]);
    const total = tensors.reduce((sum, t) => sum + t.count, 0) || 1;
    const l2Of = (members: InspectTensor[]) => {
      if (!stats) return null;
      let sum = 0;
      for (const t of members) {
        const l2 = stats.get(t.name)?.l2;
        if (l2 === null || l2 === undefined) return null;
        sum += l2 * l2;
      }
      return Math.sqrt(sum);
    };
    return h('div', { class: 'layer-detail', id },
      h('table', { class: 'modules' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Module'), h('th', { scope: 'col' }, 'Tensors'), h('th', { scope: 'col', class: 'num' }, 'Parameters'), h('th', { scope: 'col', class: 'num' }, 'Share of layer'),
          h('th', { scope: 'col', class: 'num', title: 'Frobenius norm over the module’s tensors (weight statistics)' }, 'L2'))),
        h('tbody', {}, ...[...modules.entries()].map(([module, members]) => {
          const params = members.reduce((sum, t) => sum + t.count, 0);
          const l2 = l2Of(members);
          return h('tr', {},
            h('td', {}, h('span', { class: `module module-${module.replace('.', '-')}` }, module)),
            h('td', { class: 'tensor-links' }, ...members.map((t) => h('a', { href: '#', class: 'tensor-link mono', title: `Show ${t.name} in the Tensors view`, onclick: (e: Event) => (e.preventDefault(), options.showTensor(t.name)) }, t.name.split('.').slice(-2).join('.')))),
            h('td', { class: 'num' }, formatCount(params)),
            h('td', { class: 'num' }, formatPercent(params / total)),
            h('td', { class: 'num', title: l2 === null ? 'Compute weight statistics for the norms' : String(l2) }, l2 === null ? '—' : formatValue(l2)),
          );
        })),
      ),
      options.openConfig
        ? h('p', { class: 'muted small' }, `Block ${index} of `, h('a', { href: '#', class: 'source-link config-key-link', onclick: (e: Event) => (e.preventDefault(), options.openConfig!()) }, 'config.json › num_hidden_layers'))
        : null,
    );
  };

  const layerCount = result.architecture.layers;
  source.replaceChildren(
    layerCount === null ? 'Blocks found from tensor names.' : `${layerCount} blocks (num_hidden_layers) from `,
    layerCount === null ? '' : options.openConfig
      ? h('a', { href: '#', class: 'source-link config-key-link', onclick: (e: Event) => (e.preventDefault(), options.openConfig!()) }, 'config.json › num_hidden_layers')
      : result.architecture.source === 'config' ? 'config.json' : result.architecture.source === 'metadata' ? 'the file’s metadata' : 'tensor names',
  );

  return {
    element,
    setSeries(next, nextStats, focus) {
      series = next;
      stats = nextStats;
      if (focus && series.some((s) => s.key === focus)) {
        metric = focus;
        options.onChange(metric, sort);
      }
      render();
    },
  };
}
