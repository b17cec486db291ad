// Binds a webview panel to the delta analysis of one base+tuned pair: runs it in the child process with progress
// and cancel once the webview is ready, and keeps the result so a webview that reloads gets it back without a re-run.
// "Weight by Fisher on a text…" asks for a text file and runs the delta again with the base's Fisher on it; the text
// is kept, so a retry reruns the same comparison.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { DeltaResult } from '../../protocol/results';
import type { DeltaPanelFromView, DeltaPanelToView } from '../../protocol/panels/delta';
import { runAnalysis } from '../shared/analysisService';
import { sampleTextFile } from '../shared/settings';
import { LatestJob, onWebviewMessage } from '../shared/sessionJob';

export function attachDeltaSession(webview: vscode.Webview, tuned: vscode.Uri, base: vscode.Uri): vscode.Disposable {
  const title = `Comparing ${basename(tuned.fsPath)} with ${basename(base.fsPath)}`;
  const job = new LatestJob(`delta ${base.fsPath} -> ${tuned.fsPath}`);
  let result: DeltaResult | undefined;
  let fisherText: string | undefined;
  const post = (message: DeltaPanelToView) => void webview.postMessage(message);

  const start = async () => {
    result = undefined;
    const remote = [tuned, base].find((uri) => uri.scheme !== 'file');
    if (remote) {
      job.cancel();
      post({ type: 'error', title, message: `Only files on this machine can be compared (got a ${remote.scheme}: URI).` });
      return;
    }
    post({ type: 'progress', title, progress: { message: 'Starting the analysis process' } });
    await job.run((signal) => runAnalysis({ analysis: 'delta', base: base.fsPath, tuned: tuned.fsPath, ...(fisherText ? { fisherText: { file: fisherText } } : {}) }, { signal, onProgress: (progress) => post({ type: 'progress', title, progress }) }), {
      result: (outcome) => {
        result = outcome.result;
        post({ type: 'deltaResult', result });
      },
      cancelled: () => post({ type: 'error', title: 'Cancelled', message: 'The comparison was cancelled.' }),
      failed: (message) => post({ type: 'error', title: `Cannot compare ${basename(tuned.fsPath)} with ${basename(base.fsPath)}`, message }),
    });
  };

  const weighByFisher = async () => {
    const setting = sampleTextFile();
    const picked = await vscode.window.showOpenDialog({
      title: `Pick a text: ${basename(base.fsPath)}'s Fisher on it weighs each change (one backward pass per token)`,
      defaultUri: setting.kind === 'file' ? vscode.Uri.file(setting.path) : vscode.workspace.workspaceFolders?.[0]?.uri,
      canSelectFiles: true, canSelectFolders: false, canSelectMany: false,
      filters: { 'Text': ['txt', 'md'], 'All files': ['*'] },
    });
    const file = picked?.[0];
    if (!file) return;
    if (file.scheme !== 'file') {
      void vscode.window.showErrorMessage(`Importance Lens: the Fisher text must be a file on this machine (got a ${file.scheme}: URI).`);
      return;
    }
    fisherText = file.fsPath;
    await start();
  };

  const subscription = onWebviewMessage<DeltaPanelFromView>(webview, {
    // A reloaded webview: show what we have, or let the running comparison report to it.
    ready: () => {
      if (result) post({ type: 'deltaResult', result });
      else if (!job.running) void start();
    },
    retry: () => void start(),
    weighByFisher: () => void weighByFisher(),
    cancel: () => job.cancel(),
  });
  return { dispose: () => (job.cancel(), subscription.dispose()) };
}
