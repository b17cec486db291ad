// Webview entry. Inside VS Code: restore the last state, say `ready`, render what the host sends. In a standalone
// HTML report: render the embedded message, with no host to talk to.
import type { HostToWebview, WebviewToHost } from '../src/protocol/webview';
import { datasetView } from './views/datasetView';
import { deltaView } from './views/deltaView';
import { inspectPanel, type InspectPanel, type InspectSaved } from './views/inspectView';
import { planView } from './views/planView';
import { saliencyView } from './views/saliencyView';
import { errorView, progressView } from './views/status';
import { registerToolkit } from './toolkit';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

/**
 * What survives the webview being hidden and shown again: the model panel's choices (view, metric, sort, table).
 * No results: on `ready` the host sends them again (each session keeps what it computed).
 */
interface SavedState {
  inspect?: InspectSaved;
}

registerToolkit();
const app = document.getElementById('app')!;
const embedded = document.getElementById('importance-lens-initial');
const api: VsCodeApi | undefined = embedded ? undefined : acquireVsCodeApi();
/** The model panel on screen, if any; its saved part outlives it (a retry or a reload shows the same choices). */
let inspect: InspectPanel | undefined;
let inspectSaved: InspectSaved | undefined;

function post(message: WebviewToHost): void {
  api?.postMessage(message);
}

function save(): void {
  if (inspect) inspectSaved = inspect.saved();
  if (!api) return;
  const state: SavedState = inspectSaved ? { inspect: inspectSaved } : {};
  api.setState(state);
}

function render(message: HostToWebview): void {
  switch (message.type) {
    case 'progress':
      inspect = undefined;
      app.replaceChildren(progressView(message.title, message.progress, api ? () => post({ type: 'cancel' }) : undefined));
      return;
    case 'error':
      inspect = undefined;
      app.replaceChildren(errorView(message.title, message.message, api ? () => post({ type: 'retry' }) : undefined));
      return;
    case 'inspectResult':
      // No jobs in the standalone report: there is no analysis process to run them.
      inspect = inspectPanel(message.result, api ? post : undefined, inspect?.saved() ?? inspectSaved, save);
      app.replaceChildren(inspect.element);
      save();
      return;
    case 'deltaResult':
      inspect = undefined;
      app.replaceChildren(deltaView(message.result, api ? { weighByFisher: () => post({ type: 'weighByFisher' }) } : undefined));
      return;
    case 'saliencyResult':
      inspect = undefined;
      app.replaceChildren(saliencyView(message.result, message.document, api ? { reveal: (index) => post({ type: 'revealToken', index }), compare: () => post({ type: 'compareCheckpoints' }) } : {}));
      return;
    case 'datasetResult':
      inspect = undefined;
      app.replaceChildren(datasetView(message.view, api ? { revealLine: (line) => post({ type: 'revealLine', line }), openFile: (path) => post({ type: 'openFile', path }) } : {}));
      return;
    case 'planView':
      inspect = undefined;
      app.replaceChildren(planView(message.view, api ? { command: (command) => post({ type: 'planCommand', command }), open: (row, target) => post({ type: 'planOpenSource', row, target }) } : {}));
      return;
    case 'statsProgress':
    case 'statsResult':
    case 'statsError':
    case 'layersOffer':
    case 'layersProgress':
    case 'layersResult':
    case 'layersError':
    case 'expertsOffer':
    case 'expertsProgress':
    case 'expertsResult':
    case 'expertsError':
    case 'histogramResult':
    case 'histogramError':
      // Sections of the model panel: they update it in place, never replace it.
      inspect?.handle(message);
      return;
    default: {
      const unexpected: never = message;
      console.error('Importance Lens: unexpected message', unexpected);
    }
  }
}

function isSavedState(value: unknown): value is SavedState {
  return typeof value === 'object' && value !== null;
}

if (embedded) {
  render(JSON.parse(embedded.textContent ?? '{}') as HostToWebview);
} else {
  const saved = api!.getState();
  if (isSavedState(saved)) inspectSaved = saved.inspect;
  window.addEventListener('message', (event: MessageEvent<HostToWebview>) => render(event.data));
  post({ type: 'ready' });
}
