// The model panel: a header, then three views behind a tab switcher (toolkit panels: arrow keys move between tabs,
// ARIA tablist/tab/tabpanel): Overview (what the checkpoint is), Layers (per-block bars for the metric chosen, with
// the jobs that compute the metrics), Tensors (the virtualised table and a tensor's detail). Holds the results
// that arrive on top of the summary (statistics, layer metrics, histograms); the webview saves only the choices a
// user made (view, metric, sort, table state), and the host sends the results again when a hidden panel is shown.
import type { InspectResult, InspectTensor, StatsResult, TensorStats } from '../../src/protocol/results';
import { formatBytes, formatCount } from '../../src/protocol/units';
import type { ModelPanelFromView, ModelPanelToView, TextLayersResult } from '../../src/protocol/panels/model';
import { basename, h } from '../dom';
import { formatValue } from '../format';
import { expertsSection, type ExpertsState } from './expertsSection';
import { layersSection, TEXT_METRICS, type LayersState } from './layerTextSection';
import { layersView, rankScores, type LayerSeries, type LayerSort } from './layersView';
import { overviewView } from './overviewView';
import { statsSection, type StatsState } from './statsSection';
import { tensorDetail, type HistogramState } from './tensorDetail';
import { tensorTable, type TensorTableState } from './tensorTable';

export type InspectViewName = 'overview' | 'layers' | 'tensors';

export interface InspectUiState {
  view: InspectViewName;
  metric: string;
  sort: LayerSort;
  table: TensorTableState;
}

/** What the webview keeps across hide/show: the user's choices only; results come back from the host on `ready`. */
export interface InspectSaved {
  ui: InspectUiState;
}

export interface InspectPanel {
  element: HTMLElement;
  /** Results and job states that update the panel in place; false for a message that is not the panel's. */
  handle(message: ModelPanelToView): boolean;
  saved(): InspectSaved;
}

const VIEWS: { key: InspectViewName; label: string }[] = [
  { key: 'overview', label: 'Overview' },
  { key: 'layers', label: 'Layers' },
  { key: 'tensors', label: 'Tensors' },
];

export const DEFAULT_UI: InspectUiState = { view: 'overview', metric: 'params', sort: 'index', table: { filter: '', sort: null, descending: false, grouped: true, selected: null } };

/** `post` is undefined in the standalone report: no host, so no jobs and no links. */
export function inspectPanel(result: InspectResult, post: ((message: ModelPanelFromView) => void) | undefined, saved: InspectSaved | undefined, onSave: () => void): InspectPanel {
  const ui: InspectUiState = { ...DEFAULT_UI, ...saved?.ui, table: { ...DEFAULT_UI.table, ...saved?.ui.table } };
  let stats: StatsResult | undefined;
  let statsByName: Map<string, TensorStats> | null = null;
  const textResults = new Map<string, TextLayersResult>();
  let statsState: StatsState = { kind: 'idle' };
  let layersState: LayersState = { kind: 'unavailable' };
  const histograms = new Map<string, HistogramState>();
  let detailTensor: InspectTensor | undefined;
  const configPath = result.architecture.configPath;
  const openFile = post ? (path: string, key?: string) => post({ type: 'openFile', path, ...(key ? { key } : {}) }) : undefined;

  const statsJob = post ? statsSection({ compute: () => post({ type: 'computeStats' }), cancel: () => post({ type: 'cancelStats' }) }) : undefined;
  const textJob = post ? layersSection({
    compute: (metric) => post({ type: 'computeLayers', metric }),
    cancel: () => post({ type: 'cancelLayers' }),
    remember: () => post({ type: 'rememberSampleText' }),
  }) : undefined;
  let expertsState: ExpertsState = { kind: 'unavailable' };
  const expertsJob = post ? expertsSection({ compute: (taylor) => post({ type: 'computeExperts', ...(taylor ? { taylor } : {}) }), cancel: () => post({ type: 'cancelExperts' }) }) : undefined;
  expertsJob?.update(expertsState);
  const setExperts = (state: ExpertsState) => {
    expertsState = state;
    expertsJob?.update(state);
    if (state.kind === 'done') onSave();
  };

  // Each view is built when first shown: a panel opened on one view pays for that one.
  const overviewHost = h('vscode-panel-view', { id: 'view-overview', class: 'view' });
  const layersHost = h('vscode-panel-view', { id: 'view-layers', class: 'view' });
  const tensorsHost = h('vscode-panel-view', { id: 'view-tensors', class: 'view' });
  const overview = once(() => {
    const view = overviewView(result, openFile ? { openFile } : {});
    view.setDevices(devices());
    overviewHost.append(view.element);
    return view;
  });
  const layers = once(() => {
    const view = layersView({
    result,
    jobs: [statsJob?.element, textJob?.element, expertsJob?.element].filter((e): e is HTMLElement => e !== undefined),
    metric: ui.metric,
    sort: ui.sort,
    onChange: (metric, sort) => {
      ui.metric = metric;
      ui.sort = sort;
      onSave();
    },
    ...(openFile && configPath ? { openConfig: () => openFile(configPath, 'num_hidden_layers') } : {}),
    showTensor: (name) => {
      switchTo('tensors');
      table.get().reveal(name);
    },
    });
    view.setSeries(layerSeries(result, stats, textResults, post !== undefined), statsByName);
    layersHost.append(view.element);
    return view;
  });
  const detailHolder = h('div', { class: 'detail-holder' });
  const table = once(() => {
    const view = tensorTable({
    tensors: result.tensors,
    parameters: result.parameters,
    state: ui.table,
    onChange: (state) => {
      ui.table = state;
      onSave();
    },
    onSelect: (t) => openDetail(t),
    });
    if (statsByName) view.setStats(statsByName);
    view.setNarrow(detailTensor !== undefined);
    tensorsView.prepend(view.element);
    return view;
  });
  const tensorsView = h('div', { class: 'tensors-view' }, detailHolder);
  tensorsHost.append(tensorsView);
  const show = (view: InspectViewName) => (view === 'overview' ? overview.get() : view === 'layers' ? layers.get() : table.get());

  const tabs = h('vscode-panels', { class: 'views', activeid: `tab-${ui.view}`, 'aria-label': 'Views of this checkpoint' },
    ...VIEWS.map((v) => h('vscode-panel-tab', { id: `tab-${v.key}`, class: `tab-${v.key}` }, v.label)),
    overviewHost, layersHost, tensorsHost,
  );
  tabs.addEventListener('change', (event) => {
    if (event.target !== tabs) return; // a dropdown or checkbox inside a view
    const id = (tabs as HTMLElement & { activeid?: string }).activeid ?? '';
    const view = VIEWS.find((v) => `tab-${v.key}` === id)?.key;
    if (!view || view === ui.view) return;
    ui.view = view;
    show(view);
    onSave();
    if (view === 'tensors') requestAnimationFrame(() => table.get().refresh());
  });
  const switchTo = (view: InspectViewName) => {
    ui.view = view;
    show(view);
    tabs.setAttribute('activeid', `tab-${view}`);
    onSave();
  };

  const histogramFor = (t: InspectTensor): HistogramState => {
    if (!post) return { kind: 'unavailable', why: 'Histograms are computed by the analysis process: open this checkpoint in VS Code.' };
    const known = histograms.get(t.name);
    if (known && known.kind !== 'failed') return known;
    histograms.set(t.name, { kind: 'running' });
    post({ type: 'computeHistogram', tensor: t.name });
    return { kind: 'running' };
  };
  const renderDetail = () => {
    const t = detailTensor;
    tensorsView.classList.toggle('with-detail', t !== undefined);
    if (table.built) table.get().setNarrow(t !== undefined);
    if (!t) {
      detailHolder.replaceChildren();
      return;
    }
    detailHolder.replaceChildren(tensorDetail(t, statsByName?.get(t.name), histograms.get(t.name) ?? { kind: 'running' }, {
      close: () => {
        detailTensor = undefined;
        renderDetail();
      },
      showRow: () => table.get().reveal(t.name),
    }));
  };
  const openDetail = (t: InspectTensor) => {
    detailTensor = t;
    histograms.set(t.name, histogramFor(t));
    renderDetail();
  };

  const devices = (): [string, string][] => [
    ...(stats ? [['weight statistics', stats.device] as [string, string]] : []),
    ...[...textResults.values()].map((r): [string, string] => [TEXT_METRICS.find((m) => m.key === r.layers.metric)?.label ?? r.layers.metric, r.layers.device]),
  ];

  const drawSeries = (focus?: string) => {
    if (layers.built) layers.get().setSeries(layerSeries(result, stats, textResults, post !== undefined), statsByName, focus);
    else if (focus) ui.metric = focus;
    if (overview.built) overview.get().setDevices(devices());
  };
  // Results often arrive back to back (a reloaded webview gets statistics and every metric at once): draw once a frame.
  let seriesFrame = 0;
  let pendingFocus: string | undefined;
  const refreshSeries = (focus?: string) => {
    if (focus !== undefined) pendingFocus = focus;
    if (seriesFrame) return;
    seriesFrame = requestAnimationFrame(() => {
      seriesFrame = 0;
      const chosen = pendingFocus;
      pendingFocus = undefined;
      drawSeries(chosen);
    });
  };
  let statsFrame = 0;
  const refreshTableStats = () => {
    if (statsFrame) return;
    statsFrame = requestAnimationFrame(() => {
      statsFrame = 0;
      if (table.built) table.get().setStats(statsByName);
    });
  };

  const setStats = (state: StatsState) => {
    statsState = state;
    statsJob?.update(state);
    if (state.kind === 'done') {
      stats = state.result;
      statsByName = new Map(stats.tensors.map((t) => [t.name, t]));
      refreshTableStats();
      refreshSeries(ui.metric === 'params' ? 'weight-l2' : undefined);
      renderDetail();
    }
    onSave();
  };
  const setLayers = (state: LayersState) => {
    layersState = state;
    textJob?.update(state);
    if (state.kind === 'done') {
      textResults.delete(state.result.layers.metric);
      textResults.set(state.result.layers.metric, state.result);
      refreshSeries(state.result.layers.metric);
    }
    onSave();
  };

  statsJob?.update(statsState);
  textJob?.update(layersState);
  show(ui.view);
  if (ui.table.selected) {
    const selected = result.tensors.find((t) => t.name === ui.table.selected);
    if (selected) openDetail(selected);
  }

  const element = h('main', { class: 'inspect' },
    header(result),
    result.warnings.length > 0 ? h('ul', { class: 'warnings', 'aria-label': 'Warnings' }, ...result.warnings.map((w) => h('li', {}, w))) : null,
    tabs,
  );

  return {
    element,
    handle(message) {
      switch (message.type) {
        case 'statsProgress':
          setStats({ kind: 'running', progress: message.progress });
          return true;
        case 'statsResult':
          setStats({ kind: 'done', result: message.result });
          return true;
        case 'statsError':
          setStats({ kind: 'failed', title: message.title, message: message.message });
          return true;
        case 'layersOffer':
          // An offer does not replace a result already on screen (a reloaded webview gets both).
          if (layersState.kind !== 'done') setLayers({ kind: 'idle', textFile: message.textFile });
          else textJob?.update(layersState);
          return true;
        case 'layersProgress':
          setLayers({ kind: 'running', progress: message.progress });
          return true;
        case 'layersResult':
          setLayers({ kind: 'done', result: message.result });
          return true;
        case 'layersError':
          setLayers({ kind: 'failed', title: message.title, message: message.message });
          return true;
        case 'expertsOffer':
          // An offer does not replace a result already on screen.
          if (expertsState.kind !== 'done') setExperts({ kind: 'idle' });
          return true;
        case 'expertsProgress':
          setExperts({ kind: 'running', progress: message.progress });
          return true;
        case 'expertsResult':
          setExperts({ kind: 'done', result: message.result, textFile: message.textFile });
          return true;
        case 'expertsError':
          setExperts({ kind: 'failed', title: message.title, message: message.message });
          return true;
        case 'histogramResult':
          histograms.set(message.result.tensor, { kind: 'done', result: message.result });
          if (detailTensor?.name === message.result.tensor) renderDetail();
          return true;
        case 'histogramError':
          histograms.set(message.tensor, { kind: 'failed', message: message.message });
          if (detailTensor?.name === message.tensor) renderDetail();
          return true;
        default:
          return false;
      }
    },
    saved() {
      return { ui: { ...ui, table: { ...ui.table } } };
    },
  };
}

/** A value made on first use. */
function once<T>(make: () => T): { get(): T; readonly built: boolean } {
  let value: T | undefined;
  let built = false;
  return {
    get() {
      if (!built) {
        value = make();
        built = true;
      }
      return value as T;
    },
    get built() {
      return built;
    },
  };
}

function header(result: InspectResult): HTMLElement {
  const files = result.files.length === 1 ? basename(result.files[0]!) : `${result.files.length} files`;
  return h('header', {},
    // A model opened through its config or index file is named by its folder.
    /^(config|adapter_config)\.json$|\.index\.json$/.test(basename(result.path))
      ? h('h1', {}, basename(result.path.slice(0, -basename(result.path).length)), h('span', { class: 'muted small' }, ` / ${basename(result.path)}`))
      : h('h1', {}, basename(result.path)),
    h('p', { class: 'muted' }, `${result.format} · ${formatCount(result.parameters)} parameters${result.activeParameters !== undefined ? ` (${formatCount(result.activeParameters)} active per token)` : ''} · ${result.tensors.length} tensors · ${formatBytes(result.bytes)} in ${files}`),
    result.files.length > 1 ? h('p', { class: 'muted small' }, `Shards: ${result.files.map(basename).join(', ')}`) : null,
  );
}

/** The metrics the Layers view offers: parameters always, weight L2 once statistics ran, each text metric computed. */
export function layerSeries(result: InspectResult, stats: StatsResult | undefined, textResults: Map<string, TextLayersResult>, canCompute = true): LayerSeries[] {
  const list: LayerSeries[] = [];
  const blocks = result.layers.filter((l): l is typeof l & { index: number } => l.index !== null);
  if (blocks.length > 0) {
    list.push({
      key: 'params', label: 'Parameters', ranks: false, format: formatCount,
      note: `Parameters per block, from the header alone.${canCompute ? ' Compute weight statistics or a metric on text above to rank the blocks.' : ''}`,
      layers: rankScores(blocks.map((l) => ({ index: l.index, score: l.params }))),
    });
  }
  if (stats) {
    const l2 = stats.layers.filter((l): l is typeof l & { index: number } => l.index !== null);
    if (l2.length > 0) {
      list.push({
        key: 'weight-l2', label: 'Weight L2', ranks: true, format: formatValue,
        note: `Weight L2 = Frobenius norm of the block’s weights (weight statistics, device ${stats.device}); rank 1 = largest.`,
        layers: rankScores(l2.map((l) => ({ index: l.index, score: l.l2 }))),
      });
    }
  }
  for (const r of textResults.values()) {
    if (r.layers.metric === 'weight-l2' && stats) continue; // the same numbers as the statistics' weight L2
    const definition = TEXT_METRICS.find((m) => m.key === r.layers.metric);
    const ppl = r.layers.metric === 'ablation' && r.perplexity ? r.perplexity.perplexity : null;
    list.push({
      key: r.layers.metric,
      label: definition?.label ?? r.layers.metric,
      ranks: true,
      note: `${definition?.definition ?? r.layers.metric}${r.textFile ? ` On ${basename(r.textFile)}` : ''}, device ${r.layers.device}.`,
      format: ppl === null ? formatValue : (v) => `${v >= 0 ? '+' : ''}${formatValue(v)}`,
      layers: r.layers.layers.map((l) => ({ index: l.index, score: l.score, rank: l.rank, ...(ppl === null ? {} : { shown: l.score - ppl }) })),
    });
  }
  return list;
}
