// Binds a webview panel to the delta analysis of one base+tuned pair: runs it in the child process with progress
// and cancel once the webview is ready, and keeps the result so a webview that reloads gets it back without a re-run.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { assertNever, CancelledError, errorMessage, InputError } from '../errors';
import type { DeltaResult } from '../protocol/results';
import type { HostToWebview, WebviewToHost } from '../protocol/webview';
import { runAnalysis } from './analysisService';
import { log } from './log';

export function attachDeltaSession(webview: vscode.Webview, tuned: vscode.Uri, base: vscode.Uri): vscode.Disposable {
  const title = `Comparing ${basename(tuned.fsPath)} with ${basename(base.fsPath)}`;
  let controller: AbortController | undefined;
  let result: DeltaResult | undefined;
  const post = (message: HostToWebview) => void webview.postMessage(message);

  const start = async () => {
    controller?.abort();
    const current = new AbortController();
    controller = current;
    result = undefined;
    const remote = [tuned, base].find((uri) => uri.scheme !== 'file');
    if (remote) {
      post({ type: 'error', title, message: `Only files on this machine can be compared (got a ${remote.scheme}: URI).` });
      return;
    }
    post({ type: 'progress', title, progress: { message: 'Starting the analysis process' } });
    try {
      const outcome = await runAnalysis({ analysis: 'delta', base: base.fsPath, tuned: tuned.fsPath }, {
        signal: current.signal,
        onProgress: (progress) => post({ type: 'progress', title, progress }),
      });
      if (controller !== current) return;
      result = outcome.result;
      post({ type: 'deltaResult', result });
    } catch (error) {
      if (controller !== current) return;
      if (error instanceof CancelledError) {
        post({ type: 'error', title: 'Cancelled', message: 'The comparison was cancelled.' });
      } else {
        if (!(error instanceof InputError)) log.error(`delta ${base.fsPath} -> ${tuned.fsPath}: ${errorMessage(error)}`);
        post({ type: 'error', title: `Cannot compare ${basename(tuned.fsPath)} with ${basename(base.fsPath)}`, message: errorMessage(error) });
      }
    } finally {
      if (controller === current) controller = undefined;
    }
  };

  const subscription = webview.onDidReceiveMessage((message: WebviewToHost) => {
    switch (message.type) {
      case 'ready':
        // A reloaded webview: show what we have, or let the running comparison report to it.
        if (result) post({ type: 'deltaResult', result });
        else if (!controller) void start();
        break;
      case 'retry':
        void start();
        break;
      case 'cancel':
        controller?.abort();
        break;
      case 'openFile':
      case 'computeStats':
      case 'cancelStats':
      case 'computeLayers':
      case 'cancelLayers':
      case 'rememberSampleText':
      case 'revealToken':
      case 'revealLine':
        // The delta view offers none of these; a message that asks anyway is ignored.
        break;
      default:
        assertNever(message, 'webview message');
    }
  });
  return { dispose: () => (controller?.abort(), subscription.dispose()) };
}
