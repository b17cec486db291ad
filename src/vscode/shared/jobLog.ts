// Each job of the analysis process in the output channel: what was asked, on which device it ran, how long it took,
// and what came back (or why nothing did). The lines are coloured by the grammar in syntaxes/ (see jobLogLine).
import type * as vscode from 'vscode';
import { CancelledError, errorMessage } from '../../errors';
import { jobLogLine, requestSummary, resultSize } from '../../worker/jobSummary';
import { onDidChangeJobs } from './analysisService';
import { log } from './log';
import { describe, deviceOf } from './statusBar';

export function register(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    onDidChangeJobs((event) => {
      const { id, request } = event.job;
      if (event.type === 'started') {
        log.info(jobLogLine.started(id, describe(request), requestSummary(request)));
        return;
      }
      const { outcome, wallMs } = event;
      if ('result' in outcome) {
        log.info(jobLogLine.finished(id, wallMs, deviceOf(outcome.result) ?? 'no device (files only)', resultSize(outcome.result)));
      } else if (outcome.error instanceof CancelledError) {
        log.info(jobLogLine.cancelled(id, wallMs));
      } else {
        log.error(jobLogLine.failed(id, wallMs, errorMessage(outcome.error)));
      }
    }),
  );
}
