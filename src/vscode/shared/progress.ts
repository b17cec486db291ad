// An analysis under a cancellable notification: the worker's progress messages become the notification's message
// and, where the analysis knows its fraction done, its bar.
import * as vscode from 'vscode';
import type { Progress } from '../../protocol/results';

export function withCancellableProgress<T>(title: string, work: (signal: AbortSignal, onProgress: (progress: Progress) => void) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
    const controller = new AbortController();
    token.onCancellationRequested(() => controller.abort());
    let done = 0;
    return work(controller.signal, (p) => {
      // VS Code's bar takes increments; a fraction that goes back (a second pass over the file) leaves it where it is.
      const increment = p.fraction === undefined ? 0 : Math.max(0, p.fraction * 100 - done);
      done += increment;
      progress.report({ message: p.message, ...(increment > 0 ? { increment } : {}) });
    });
  });
}
