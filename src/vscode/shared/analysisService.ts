// The extension's one analysis child process. Forked on first use (activation stays cheap), respawned after a
// crash, shut down with the extension. Panels run analyses through `runAnalysis`, which shows window progress and
// announces each finished analysis (the status bar shows the device it ran on).
import * as vscode from 'vscode';
import type { JobEvent, RunOptions } from '../../worker/client';
import { AnalysisWorkerClient } from '../../worker/client';
import type { AnalysisRequest, AnalysisResult, ResultFor } from '../../protocol/worker';
import { log } from './log';
import { admitInThisWorkspace } from './workspaceTrust';

let client: AnalysisWorkerClient | undefined;
const finished = new vscode.EventEmitter<FinishedAnalysis>();
const jobs = new vscode.EventEmitter<JobEvent>();

/** Every request the analysis process runs, whoever sent it: when it starts and when it ends (status bar, log). */
export const onDidChangeJobs = jobs.event;

export interface FinishedAnalysis {
  request: AnalysisRequest;
  result: AnalysisResult;
}

/** Fires after every analysis run through `runAnalysis` succeeds. */
export const onDidFinishAnalysis = finished.event;

/** The analysis part of what activate() returns: runs analyses through the same path as the panels. */
export interface AnalysisServiceApi {
  runAnalysis: typeof runAnalysis;
  onDidFinishAnalysis: vscode.Event<FinishedAnalysis>;
}

export function register(context: vscode.ExtensionContext): AnalysisServiceApi {
  client = new AnalysisWorkerClient(context.asAbsolutePath('dist/worker.js'), {
    log: (line) => log.info(line),
    // The one place requests are checked against workspace trust before they reach the analysis process.
    admit: admitInThisWorkspace,
    onJob: (event) => jobs.fire(event),
  });
  context.subscriptions.push({ dispose: () => client?.dispose() }, finished, jobs);
  return { runAnalysis, onDidFinishAnalysis };
}

export function analysisWorker(): AnalysisWorkerClient {
  if (!client) throw new Error('Importance Lens analysis service used before activation');
  return client;
}

export async function runAnalysis<R extends AnalysisRequest>(request: R, options: RunOptions = {}): Promise<ResultFor<R>> {
  const outcome = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: 'Importance Lens' },
    (progress) => analysisWorker().run(request, {
      signal: options.signal,
      onProgress: (p) => {
        progress.report({ message: p.message });
        options.onProgress?.(p);
      },
    }),
  );
  finished.fire({ request, result: outcome });
  return outcome;
}
