// Webview entry. Inside VS Code: restore the last state, say `ready`, render what the host sends. In a standalone
// HTML report: render the embedded message, with no host to talk to.
import type { StatsResult } from '../src/protocol/results';
import type { HostToWebview, WebviewToHost } from '../src/protocol/webview';
import { datasetView } from './views/datasetView';
import { deltaView } from './views/deltaView';
import { inspectView } from './views/inspectView';
import { layersSection, type LayersSection, type LayersState } from './views/layerTextSection';
import { saliencyView } from './views/saliencyView';
import { statsSection, type StatsSection, type StatsState } from './views/statsSection';
import { errorView, progressView } from './views/status';
import { registerToolkit } from './toolkit';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

/** What survives the webview being hidden and shown again: the last view, and the sections computed on top of it. */
interface SavedState {
  view: HostToWebview;
  stats?: StatsResult;
  layers?: LayersState;
}

registerToolkit();
const app = document.getElementById('app')!;
const embedded = document.getElementById('importance-lens-initial');
const api: VsCodeApi | undefined = embedded ? undefined : acquireVsCodeApi();
let view: HostToWebview | undefined;
let stats: StatsState = { kind: 'idle' };
/** The statistics section of the inspect view on screen, if any. */
let statsPanel: StatsSection | undefined;
let layers: LayersState = { kind: 'unavailable' };
let layersPanel: LayersSection | undefined;

function post(message: WebviewToHost): void {
  api?.postMessage(message);
}

function save(): void {
  if (!api || !view) return;
  // A running or failed section is not kept: the host replays its offer and any result when the webview is ready.
  const keptLayers = layers.kind === 'done' || layers.kind === 'idle' ? { layers } : {};
  const state: SavedState = { view, ...(stats.kind === 'done' ? { stats: stats.result } : {}), ...keptLayers };
  api.setState(state);
}

function setStats(state: StatsState): void {
  stats = state;
  statsPanel?.update(stats);
  save();
}

function setLayers(state: LayersState): void {
  layers = state;
  layersPanel?.update(layers);
  save();
}

function render(message: HostToWebview): void {
  switch (message.type) {
    case 'progress':
      statsPanel = undefined;
      layersPanel = undefined;
      app.replaceChildren(progressView(message.title, message.progress, api ? () => post({ type: 'cancel' }) : undefined));
      return;
    case 'error':
      statsPanel = undefined;
      layersPanel = undefined;
      app.replaceChildren(errorView(message.title, message.message, api ? () => post({ type: 'retry' }) : undefined));
      return;
    case 'inspectResult':
      // No statistics in the standalone report: there is no analysis process to compute them.
      statsPanel = api ? statsSection({ compute: () => post({ type: 'computeStats' }), cancel: () => post({ type: 'cancelStats' }) }) : undefined;
      statsPanel?.update(stats);
      layersPanel = api ? layersSection({
        compute: (metric) => post({ type: 'computeLayers', metric }),
        cancel: () => post({ type: 'cancelLayers' }),
        remember: () => post({ type: 'rememberSampleText' }),
      }) : undefined;
      layersPanel?.update(layers);
      app.replaceChildren(inspectView(message.result, api ? { openFile: (path) => post({ type: 'openFile', path }) } : {}, statsPanel?.element, layersPanel?.element));
      view = message;
      save();
      return;
    case 'deltaResult':
      statsPanel = undefined;
      layersPanel = undefined;
      app.replaceChildren(deltaView(message.result));
      view = message;
      save();
      return;
    case 'saliencyResult':
      statsPanel = undefined;
      layersPanel = undefined;
      app.replaceChildren(saliencyView(message.result, message.document, api ? { reveal: (index) => post({ type: 'revealToken', index }) } : {}));
      view = message;
      save();
      return;
    case 'datasetResult':
      statsPanel = undefined;
      layersPanel = undefined;
      app.replaceChildren(datasetView(message.view, api ? { revealLine: (line) => post({ type: 'revealLine', line }), openFile: (path) => post({ type: 'openFile', path }) } : {}));
      view = message;
      save();
      return;
    case 'statsProgress':
      setStats({ kind: 'running', progress: message.progress });
      return;
    case 'statsResult':
      setStats({ kind: 'done', result: message.result });
      return;
    case 'statsError':
      setStats({ kind: 'failed', title: message.title, message: message.message });
      return;
    case 'layersOffer':
      // An offer does not replace a result already on screen (a reloaded webview gets both).
      if (layers.kind !== 'done') setLayers({ kind: 'idle', textFile: message.textFile });
      return;
    case 'layersProgress':
      setLayers({ kind: 'running', progress: message.progress });
      return;
    case 'layersResult':
      setLayers({ kind: 'done', result: message.result });
      return;
    case 'layersError':
      setLayers({ kind: 'failed', title: message.title, message: message.message });
      return;
    default: {
      const unexpected: never = message;
      console.error('Importance Lens: unexpected message', unexpected);
    }
  }
}

function isSavedState(value: unknown): value is SavedState {
  return typeof value === 'object' && value !== null && 'view' in value;
}

if (embedded) {
  render(JSON.parse(embedded.textContent ?? '{}') as HostToWebview);
} else {
  const saved = api!.getState();
  if (isSavedState(saved)) {
    if (saved.stats) stats = { kind: 'done', result: saved.stats };
    if (saved.layers) layers = saved.layers;
    render(saved.view);
  }
  window.addEventListener('message', (event: MessageEvent<HostToWebview>) => render(event.data));
  post({ type: 'ready' });
}
