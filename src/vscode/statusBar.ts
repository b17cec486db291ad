// A status bar item naming the device the last analysis ran on ("cpu", "cuda", "webgpu"), so a user can tell at a
// glance whether the GPU was used. Hidden until an analysis that runs on a device has finished; the inspect
// analysis only reads headers and runs on none.
import * as vscode from 'vscode';
import { assertNever } from '../errors';
import type { AnalysisRequest, AnalysisResult } from '../protocol/worker';
import { onDidFinishAnalysis } from './analysisService';

export function register(context: vscode.ExtensionContext): void {
  const item = vscode.window.createStatusBarItem('importanceLens.device', vscode.StatusBarAlignment.Right, 100);
  item.name = 'Importance Lens Device';
  context.subscriptions.push(
    item,
    onDidFinishAnalysis(({ request, result }) => {
      const device = deviceOf(result);
      if (device === null) return;
      item.text = `$(pulse) Importance Lens: ${device}`;
      item.tooltip = `Importance Lens: the last analysis (${describe(request)}) ran on ${device}`;
      item.show();
    }),
  );
}

function deviceOf(result: AnalysisResult): string | null {
  switch (result.analysis) {
    case 'inspect':
    case 'histogram':
      return null;
    case 'stats':
    case 'layers':
    case 'delta':
    case 'perplexity':
    case 'saliency':
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

function describe(request: AnalysisRequest): string {
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
