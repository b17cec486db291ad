// Webview entry. Inside VS Code: restore the last state, say `ready`, render what the host sends. In a standalone
// HTML report: render the embedded message, with no host to talk to.
import type { StatsResult } from '../src/protocol/results';
import type { HostToWebview, WebviewToHost } from '../src/protocol/webview';
import { deltaView } from './views/deltaView';
import { inspectView } from './views/inspectView';
import { statsSection, type StatsSection, type StatsState } from './views/statsSection';
import { errorView, progressView } from './views/status';
import { registerToolkit } from './toolkit';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

/** What survives the webview being hidden and shown again: the last view, and statistics computed on top of it. */
interface SavedState {
  view: HostToWebview;
  stats?: StatsResult;
}

registerToolkit();
const app = document.getElementById('app')!;
const embedded = document.getElementById('importance-lens-initial');
const api: VsCodeApi | undefined = embedded ? undefined : acquireVsCodeApi();
let view: HostToWebview | undefined;
let stats: StatsState = { kind: 'idle' };
/** The statistics section of the inspect view on screen, if any. */
let statsPanel: StatsSection | undefined;

function post(message: WebviewToHost): void {
  api?.postMessage(message);
}

function save(): void {
  if (!api || !view) return;
  const state: SavedState = { view, ...(stats.kind === 'done' ? { stats: stats.result } : {}) };
  api.setState(state);
}

function setStats(state: StatsState): void {
  stats = state;
  statsPanel?.update(stats);
  save();
}

function render(message: HostToWebview): void {
  switch (message.type) {
    case 'progress':
      statsPanel = undefined;
      app.replaceChildren(progressView(message.title, message.progress, api ? () => post({ type: 'cancel' }) : undefined));
      return;
    case 'error':
      statsPanel = undefined;
      app.replaceChildren(errorView(message.title, message.message, api ? () => post({ type: 'retry' }) : undefined));
      return;
    case 'inspectResult':
      // No statistics in the standalone report: there is no analysis process to compute them.
      statsPanel = api ? statsSection({ compute: () => post({ type: 'computeStats' }), cancel: () => post({ type: 'cancelStats' }) }) : undefined;
      statsPanel?.update(stats);
      app.replaceChildren(inspectView(message.result, api ? { openFile: (path) => post({ type: 'openFile', path }) } : {}, statsPanel?.element));
      view = message;
      save();
      return;
    case 'deltaResult':
      statsPanel = undefined;
      app.replaceChildren(deltaView(message.result));
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
    render(saved.view);
  }
  window.addEventListener('message', (event: MessageEvent<HostToWebview>) => render(event.data));
  post({ type: 'ready' });
}
