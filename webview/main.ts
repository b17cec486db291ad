// Webview entry. Inside VS Code: restore the last state, say `ready`, render what the host sends. In a standalone
// HTML report: render the embedded message, with no host to talk to.
import type { HostToWebview, WebviewToHost } from '../src/protocol/webview';
import { inspectView } from './views/inspectView';
import { errorView, progressView } from './views/status';
import { registerToolkit } from './toolkit';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

registerToolkit();
const app = document.getElementById('app')!;
const embedded = document.getElementById('importance-lens-initial');
const api: VsCodeApi | undefined = embedded ? undefined : acquireVsCodeApi();

function post(message: WebviewToHost): void {
  api?.postMessage(message);
}

function render(message: HostToWebview): void {
  switch (message.type) {
    case 'progress':
      app.replaceChildren(progressView(message.title, message.progress, api ? () => post({ type: 'cancel' }) : undefined));
      return;
    case 'error':
      app.replaceChildren(errorView(message.title, message.message, api ? () => post({ type: 'retry' }) : undefined));
      return;
    case 'inspectResult':
      app.replaceChildren(inspectView(message.result, api ? { openFile: (path) => post({ type: 'openFile', path }) } : {}));
      api?.setState(message);
      return;
    default: {
      const unexpected: never = message;
      console.error('Importance Lens: unexpected message', unexpected);
    }
  }
}

if (embedded) {
  render(JSON.parse(embedded.textContent ?? '{}') as HostToWebview);
} else {
  const saved = api!.getState() as HostToWebview | undefined;
  if (saved) render(saved);
  window.addEventListener('message', (event: MessageEvent<HostToWebview>) => render(event.data));
  post({ type: 'ready' });
}
