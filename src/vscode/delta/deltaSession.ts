// Binds a webview panel to the delta analysis of one base+tuned pair: runs it in the child process with progress
// and cancel once the webview is ready, and keeps the result so a webview that reloads gets it back without a re-run.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { DeltaResult } from '../../protocol/results';
import type { DeltaPanelFromView, DeltaPanelToView } from '../../protocol/panels/delta';
import { runAnalysis } from '../shared/analysisService';
import { LatestJob, onWebviewMessage } from '../shared/sessionJob';

export function attachDeltaSession(webview: vscode.Webview, tuned: vscode.Uri, base: vscode.Uri): vscode.Disposable {
  const title = `Comparing ${basename(tuned.fsPath)} with ${basename(base.fsPath)}`;
  const job = new LatestJob(`delta ${base.fsPath} -> ${tuned.fsPath}`);
  let result: DeltaResult | undefined;
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
    await job.run((signal) => runAnalysis({ analysis: 'delta', base: base.fsPath, tuned: tuned.fsPath }, { signal, onProgress: (progress) => post({ type: 'progress', title, progress }) }), {
      result: (outcome) => {
        result = outcome.result;
        post({ type: 'deltaResult', result });
      },
      cancelled: () => post({ type: 'error', title: 'Cancelled', message: 'The comparison was cancelled.' }),
      failed: (message) => post({ type: 'error', title: `Cannot compare ${basename(tuned.fsPath)} with ${basename(base.fsPath)}`, message }),
    });
  };

  // The delta view offers nothing else; other messages are ignored.
  const subscription = onWebviewMessage<DeltaPanelFromView>(webview, {
    // A reloaded webview: show what we have, or let the running comparison report to it.
    ready: () => {
      if (result) post({ type: 'deltaResult', result });
      else if (!job.running) void start();
    },
    retry: () => void start(),
    cancel: () => job.cancel(),
  });
  return { dispose: () => (job.cancel(), subscription.dispose()) };
}
