// The extension's one analysis child process. Forked on first use (activation stays cheap), respawned after a
// crash, shut down with the extension.
import * as vscode from 'vscode';
import { AnalysisWorkerClient } from '../worker/client';
import { log } from './log';

let client: AnalysisWorkerClient | undefined;

export function register(context: vscode.ExtensionContext): void {
  client = new AnalysisWorkerClient(context.asAbsolutePath('dist/worker.js'), { log: (line) => log.info(line) });
  context.subscriptions.push({ dispose: () => client?.dispose() });
}

export function analysisWorker(): AnalysisWorkerClient {
  if (!client) throw new Error('Importance Lens analysis service used before activation');
  return client;
}
