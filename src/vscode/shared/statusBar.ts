// A status bar item for the analysis process. While a job runs: a spinner, the job's name and the device, and a
// click cancels it. Otherwise: the device the last analysis ran on ("cpu", "cuda", "webgpu"), so a user can tell
// at a glance whether the GPU was used. Hidden until then; the inspect analysis only reads headers and runs on none.
import * as vscode from 'vscode';
import { assertNever } from '../../errors';
import type { AnalysisRequest, AnalysisResult } from '../../protocol/worker';
import type { JobInfo } from '../../worker/client';
import { expectedDevice, providerKey } from '../../worker/jobSummary';
import { analysisWorker, onDidChangeJobs } from './analysisService';

export const CANCEL_JOB_COMMAND = 'importanceLens.cancelJob';

export function register(context: vscode.ExtensionContext): void {
  const item = vscode.window.createStatusBarItem('importanceLens.device', vscode.StatusBarAlignment.Right, 100);
  item.name = 'Importance Lens';
  let last: { device: string; request: AnalysisRequest } | undefined;
  /** Device by the providers a request named (see expectedDevice). */
  const seen = new Map<string, string>();
  const update = () => {
    const running = analysisWorker().running;
    const job = running[running.length - 1];
    if (job) {
      const others = running.length > 1 ? ` (+${running.length - 1})` : '';
      const expected = expectedDevice(job.request, seen);
      item.text = `$(loading~spin) ${jobName(job.request)}${expected ? ` · ${expected.device}${expected.sure ? '' : '?'}` : ''}${others}`;
      item.tooltip = [
        `Importance Lens: running ${describe(job.request)}${others ? `, and ${running.length - 1} more` : ''}`,
        expected === null ? 'Device: none named (reads files only, or runs on the CPU)'
          : expected.sure ? `Device: ${expected.device}` : `Device: ${expected.device}, the first of the execution providers that can start here (if it fails its probe, the next)`,
        'Click to cancel',
      ].join('\n');
      item.command = CANCEL_JOB_COMMAND;
      item.show();
    } else if (last) {
      item.text = `$(pulse) Importance Lens: ${last.device}`;
      item.tooltip = `Importance Lens: the last analysis (${describe(last.request)}) ran on ${last.device}`;
      item.command = undefined;
      item.show();
    } else {
      item.hide();
    }
  };
  context.subscriptions.push(
    item,
    vscode.commands.registerCommand(CANCEL_JOB_COMMAND, cancelJob),
    onDidChangeJobs((event) => {
      if (event.type === 'ended' && 'result' in event.outcome) {
        const device = deviceOf(event.outcome.result);
        if (device !== null) last = { device, request: event.job.request };
        const key = providerKey(event.job.request);
        if (device !== null && key !== null) seen.set(key, device);
      }
      update();
    }),
  );
}

/** Cancels the running job; with several, asks which (or all). */
async function cancelJob(): Promise<void> {
  const worker = analysisWorker();
  const running = worker.running;
  if (running.length <= 1) {
    if (running[0]) worker.cancel(running[0].id);
    return;
  }
  const since = (job: JobInfo) => `running for ${Math.round((Date.now() - job.startedAt) / 1000)} s`;
  const picked = await vscode.window.showQuickPick(
    [
      { label: 'Cancel all', description: `${running.length} jobs`, ids: running.map((j) => j.id) },
      ...running.map((job) => ({ label: jobName(job.request), description: since(job), detail: describe(job.request), ids: [job.id] })),
    ],
    { title: 'Importance Lens: cancel which analysis?' },
  );
  for (const id of picked?.ids ?? []) worker.cancel(id);
}

/** describe() with paths cut to their last part: short enough for the status bar. */
function jobName(request: AnalysisRequest): string {
  return describe(request).replace(/(?:[A-Za-z]:)?[\\/]\S*[\\/](\S+)/g, '$1');
}

export function deviceOf(result: AnalysisResult): string | null {
  switch (result.analysis) {
    case 'inspect':
    case 'histogram':
      return null;
    case 'stats':
    case 'layers':
    case 'delta':
    case 'perplexity':
    case 'saliency':
    case 'experts':
      return result.result.device;
    case 'plan-choices':
    case 'plan-preview':
      // Headers only.
      return null;
    case 'plan':
      return result.result.device;
    case 'apply':
      // Writing runs on no device; verification runs the model.
      return result.result.verification?.device ?? null;
    case 'csv':
      // Only column importance runs a model (and so has a device); inspect and DSIR rows are plain streaming.
      return 'device' in result.result ? result.result.device : null;
    default:
      return assertNever(result, 'analysis result');
  }
}

export function describe(request: AnalysisRequest): string {
  switch (request.analysis) {
    case 'inspect':
      return `inspect of ${request.path}`;
    case 'stats':
      return `weight statistics of ${request.path}`;
    case 'layers':
      return `layer ranking by ${request.metric} of ${request.path}`;
    case 'histogram':
      return `histogram of ${request.tensor} in ${request.path}`;
    case 'delta':
      return `delta of ${request.tuned} vs base ${request.base}`;
    case 'perplexity':
      return `perplexity of ${request.model}`;
    case 'saliency':
      return `${request.method} saliency with ${request.model}`;
    case 'experts':
      return `expert importance of ${request.model}`;
    case 'plan':
      return `pruning plan for ${request.model}`;
    case 'plan-choices':
      return `pruning choices for ${request.model}`;
    case 'plan-preview':
      return `preview of ${request.plan}`;
    case 'apply':
      return request.out === null ? `verification of ${request.plan}` : `${request.plan} applied to ${request.out}`;
    case 'csv':
      return `CSV ${request.mode === 'columns' ? 'column importance' : request.mode === 'rows' ? 'row importance' : 'profile'} of ${request.path}`;
    default:
      return assertNever(request, 'analysis request');
  }
}
