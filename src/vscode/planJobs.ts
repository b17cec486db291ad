// How the plan commands run their analyses and report failures: under a cancellable notification whose message
// follows the analysis process' progress; a cancel is quiet, a bad plan or model is the validator's own message.
import * as vscode from 'vscode';
import { CancelledError, errorMessage, InputError } from '../errors';
import type { Progress } from '../protocol/results';
import { log } from './log';

export function withCancellableNotification<T>(title: string, work: (signal: AbortSignal, onProgress: (progress: Progress) => void) => Promise<T>): Promise<T> {
  return Promise.resolve(vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
    const controller = new AbortController();
    token.onCancellationRequested(() => controller.abort());
    return work(controller.signal, (p) => progress.report({ message: p.message }));
  }));
}

/** A rejection handler: shows the error (none for a cancel), logs our own bugs, resolves to undefined. */
export function reportFailure(what: string): (error: unknown) => undefined {
  return (error) => {
    if (error instanceof CancelledError) return undefined;
    if (!(error instanceof InputError)) log.error(`${what}: ${errorMessage(error)}`);
    void vscode.window.showErrorMessage(`Importance Lens: ${what} failed: ${errorMessage(error)}`);
    return undefined;
  };
}
