// Each job of the analysis process in the output channel: what was asked, on which device it ran, how long it took,
// and what came back (or why nothing did).
import type * as vscode from 'vscode';
import { CancelledError, errorMessage } from '../errors';
import { requestSummary, resultSize } from '../worker/jobSummary';
import { onDidChangeJobs } from './analysisService';
import { log } from './log';
import { describe, deviceOf } from './statusBar';

export function register(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    onDidChangeJobs((event) => {
      const { id, request } = event.job;
      if (event.type === 'started') {
        log.info(`job ${id} started: ${describe(request)} · ${requestSummary(request)}`);
        return;
      }
      const wall = `${(event.wallMs / 1000).toFixed(2)} s`;
      const { outcome } = event;
      if ('result' in outcome) {
        const device = deviceOf(outcome.result) ?? 'no device (files only)';
        log.info(`job ${id} finished in ${wall} on ${device}: ${resultSize(outcome.result)}`);
      } else if (outcome.error instanceof CancelledError) {
        log.info(`job ${id} cancelled after ${wall}`);
      } else {
        log.error(`job ${id} failed after ${wall}: ${errorMessage(outcome.error)}`);
      }
    }),
  );
}
