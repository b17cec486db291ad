// Binds one webview (panel or custom editor) to the inspect analysis of one path: waits for `ready`, runs the
// analysis in the child process with progress and cancel, and answers the webview's requests.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { assertNever, CancelledError, errorMessage, InputError } from '../errors';
import type { HostToWebview, WebviewToHost } from '../protocol/webview';
import { analysisWorker } from './analysisService';
import { log } from './log';

export function attachInspectSession(webview: vscode.Webview, target: vscode.Uri): vscode.Disposable {
  const title = `Inspecting ${basename(target.fsPath)}`;
  let controller: AbortController | undefined;
  /** Files the webview may ask to open: only those the result names, never an arbitrary path. */
  let openable = new Set<string>();
  const post = (message: HostToWebview) => void webview.postMessage(message);

  const start = async () => {
    controller?.abort();
    const current = new AbortController();
    controller = current;
    if (target.scheme !== 'file') {
      post({ type: 'error', title, message: `Only files on this machine can be analysed (got a ${target.scheme}: URI).` });
      return;
    }
    post({ type: 'progress', title, progress: { message: 'Starting the analysis process' } });
    try {
      const outcome = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: 'Importance Lens' },
        (progress) => analysisWorker().run({ analysis: 'inspect', path: target.fsPath }, {
          signal: current.signal,
          onProgress: (p) => {
            progress.report({ message: p.message });
            post({ type: 'progress', title, progress: p });
          },
        }),
      );
      if (controller !== current) return;
      openable = new Set([...outcome.result.files, ...(outcome.result.architecture.configPath ? [outcome.result.architecture.configPath] : [])]);
      post({ type: 'inspectResult', result: outcome.result });
    } catch (error) {
      if (controller !== current) return;
      if (error instanceof CancelledError) {
        post({ type: 'error', title: 'Cancelled', message: 'The analysis was cancelled.' });
      } else {
        if (!(error instanceof InputError)) log.error(`inspect ${target.fsPath}: ${errorMessage(error)}`);
        post({ type: 'error', title: `Cannot inspect ${basename(target.fsPath)}`, message: errorMessage(error) });
      }
    }
  };

  const subscription = webview.onDidReceiveMessage((message: WebviewToHost) => {
    switch (message.type) {
      case 'ready':
      case 'retry':
        void start();
        break;
      case 'cancel':
        controller?.abort();
        break;
      case 'openFile':
        if (openable.has(message.path)) void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(message.path));
        break;
      default:
        assertNever(message, 'webview message');
    }
  });
  return { dispose: () => (controller?.abort(), subscription.dispose()) };
}
