// Binds one webview (panel or custom editor) to the analyses of one path: waits for `ready`, runs the inspect
// analysis in the child process with progress and cancel, runs weight statistics and layer importance on text when
// the webview asks for them, and answers the webview's requests.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { assertNever, CancelledError, errorMessage, InputError } from '../errors';
import type { StatsResult } from '../protocol/results';
import type { HostToWebview, WebviewToHost } from '../protocol/webview';
import { runAnalysis } from './analysisService';
import { layerTextSection } from './layerTextSection';
import { log } from './log';
import { runSettings } from './settings';

export function attachInspectSession(webview: vscode.Webview, target: vscode.Uri): vscode.Disposable {
  const name = basename(target.fsPath);
  const title = `Inspecting ${name}`;
  let controller: AbortController | undefined;
  let statsController: AbortController | undefined;
  /** Kept so a webview that reloads (hidden and shown again) gets its statistics back without a re-run. */
  let stats: StatsResult | undefined;
  /** Files the webview may ask to open: only those the result names, never an arbitrary path. */
  let openable = new Set<string>();
  const post = (message: HostToWebview) => void webview.postMessage(message);
  const layers = layerTextSection(target.fsPath, post);

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
      const outcome = await runAnalysis({ analysis: 'inspect', path: target.fsPath }, {
        signal: current.signal,
        onProgress: (progress) => post({ type: 'progress', title, progress }),
      });
      if (controller !== current) return;
      openable = new Set([...outcome.result.files, ...(outcome.result.architecture.configPath ? [outcome.result.architecture.configPath] : [])]);
      post({ type: 'inspectResult', result: outcome.result });
      if (stats) post({ type: 'statsResult', result: stats });
      layers.offer();
    } catch (error) {
      if (controller !== current) return;
      if (error instanceof CancelledError) {
        post({ type: 'error', title: 'Cancelled', message: 'The analysis was cancelled.' });
      } else {
        if (!(error instanceof InputError)) log.error(`inspect ${target.fsPath}: ${errorMessage(error)}`);
        post({ type: 'error', title: `Cannot inspect ${name}`, message: errorMessage(error) });
      }
    }
  };

  const computeStats = async () => {
    statsController?.abort();
    const current = new AbortController();
    statsController = current;
    post({ type: 'statsProgress', progress: { message: 'Starting the analysis process' } });
    try {
      const outcome = await runAnalysis({ analysis: 'stats', path: target.fsPath, providers: runSettings().providers }, {
        signal: current.signal,
        onProgress: (progress) => post({ type: 'statsProgress', progress }),
      });
      if (statsController !== current) return;
      stats = outcome.result;
      post({ type: 'statsResult', result: stats });
    } catch (error) {
      if (statsController !== current) return;
      if (error instanceof CancelledError) {
        post({ type: 'statsError', title: 'Cancelled', message: 'Computing weight statistics was cancelled.' });
      } else {
        if (!(error instanceof InputError)) log.error(`stats ${target.fsPath}: ${errorMessage(error)}`);
        post({ type: 'statsError', title: `Cannot compute weight statistics of ${name}`, message: errorMessage(error) });
      }
    } finally {
      if (statsController === current) statsController = undefined;
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
      case 'computeStats':
        void computeStats();
        break;
      case 'cancelStats':
        statsController?.abort();
        break;
      case 'computeLayers':
        void layers.compute(message.metric);
        break;
      case 'cancelLayers':
        layers.cancel();
        break;
      case 'rememberSampleText':
        void layers.remember();
        break;
      case 'revealToken':
      case 'revealLine':
        // Only the saliency view reveals tokens, only the Dataset view lines.
        break;
      default:
        assertNever(message, 'webview message');
    }
  });
  return { dispose: () => (controller?.abort(), statsController?.abort(), layers.dispose(), subscription.dispose()) };
}
