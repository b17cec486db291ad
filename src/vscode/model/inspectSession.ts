// Binds one webview (panel or custom editor) to the analyses of one path: waits for `ready`, runs the inspect
// analysis in the child process with progress and cancel, runs weight statistics, layer importance on text, expert
// importance (MoE models) and a tensor's histogram when the webview asks for them, and answers the webview's requests.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { topLevelKeyRange } from '../../arch/configKey';
import type { InspectResult, StatsResult } from '../../protocol/results';
import type { ModelPanelFromView, ModelPanelToView } from '../../protocol/panels/model';
import { runAnalysis } from '../shared/analysisService';
import { expertsSection } from './expertsSection';
import { layerTextSection } from './layerTextSection';
import { LatestJob, onWebviewMessage } from '../shared/sessionJob';
import { runSettings } from '../shared/settings';

export function attachInspectSession(webview: vscode.Webview, target: vscode.Uri): vscode.Disposable {
  const name = basename(target.fsPath);
  const title = `Inspecting ${name}`;
  const inspectJob = new LatestJob(`inspect ${target.fsPath}`);
  const statsJob = new LatestJob(`stats ${target.fsPath}`);
  const histogramJob = new LatestJob(`histogram ${target.fsPath}`);
  /** Kept so a webview that reloads (hidden and shown again) gets its results back without a re-run. */
  let inspected: InspectResult | undefined;
  let stats: StatsResult | undefined;
  /** Files the webview may ask to open and tensors it may ask about: only those the result names. */
  let openable = new Set<string>();
  let tensors = new Set<string>();
  const post = (message: ModelPanelToView) => void webview.postMessage(message);
  const layers = layerTextSection(target.fsPath, post);
  const experts = expertsSection(target.fsPath, post);

  const start = async () => {
    if (target.scheme !== 'file') {
      post({ type: 'error', title, message: `Only files on this machine can be analysed (got a ${target.scheme}: URI).` });
      return;
    }
    post({ type: 'progress', title, progress: { message: 'Starting the analysis process' } });
    await inspectJob.run((signal) => runAnalysis({ analysis: 'inspect', path: target.fsPath }, { signal, onProgress: (progress) => post({ type: 'progress', title, progress }) }), {
      result: (outcome) => {
        inspected = outcome.result;
        openable = new Set([...inspected.files, ...(inspected.architecture.configPath ? [inspected.architecture.configPath] : [])]);
        tensors = new Set(inspected.tensors.map((t) => t.name));
        replay();
      },
      cancelled: () => post({ type: 'error', title: 'Cancelled', message: 'The analysis was cancelled.' }),
      failed: (message) => post({ type: 'error', title: `Cannot inspect ${name}`, message }),
    });
  };

  /** Everything the view shows, from what this session keeps. */
  const replay = () => {
    if (!inspected) return;
    post({ type: 'inspectResult', result: inspected });
    if (stats) post({ type: 'statsResult', result: stats });
    layers.offer();
    experts.offer();
  };

  const computeStats = async () => {
    post({ type: 'statsProgress', progress: { message: 'Starting the analysis process' } });
    await statsJob.run((signal) => runAnalysis({ analysis: 'stats', path: target.fsPath, providers: runSettings().providers }, { signal, onProgress: (progress) => post({ type: 'statsProgress', progress }) }), {
      result: (outcome) => {
        stats = outcome.result;
        post({ type: 'statsResult', result: stats });
      },
      cancelled: () => post({ type: 'statsError', title: 'Cancelled', message: 'Computing weight statistics was cancelled.' }),
      failed: (message) => post({ type: 'statsError', title: `Cannot compute weight statistics of ${name}`, message }),
    });
  };

  const computeHistogram = async (tensor: string) => {
    if (!tensors.has(tensor)) return;
    await histogramJob.run((signal) => runAnalysis({ analysis: 'histogram', path: target.fsPath, tensor }, { signal }), {
      result: (outcome) => post({ type: 'histogramResult', result: outcome.result }),
      cancelled: () => undefined, // superseded by another tensor's request, or the panel closed
      failed: (message) => post({ type: 'histogramError', tensor, message }),
    });
  };

  const openFile = async (path: string, key: string | undefined) => {
    if (!openable.has(path)) return;
    const uri = vscode.Uri.file(path);
    if (key === undefined) {
      await vscode.commands.executeCommand('vscode.open', uri);
      return;
    }
    const document = await vscode.workspace.openTextDocument(uri);
    const range = topLevelKeyRange(document.getText(), key);
    const selection = range ? new vscode.Range(document.positionAt(range.start), document.positionAt(range.end)) : undefined;
    await vscode.window.showTextDocument(document, { ...(selection ? { selection } : {}), preview: true });
  };

  const subscription = onWebviewMessage<ModelPanelFromView>(webview, {
    // A webview shown again (it keeps no results) gets what was computed; a new one runs the inspect job.
    ready: () => (inspected && !inspectJob.running ? replay() : void start()),
    retry: () => void start(),
    cancel: () => inspectJob.cancel(),
    openFile: (message) => void openFile(message.path, message.key),
    computeStats: () => void computeStats(),
    cancelStats: () => statsJob.cancel(),
    computeLayers: (message) => void layers.compute(message.metric),
    cancelLayers: () => layers.cancel(),
    rememberSampleText: () => void layers.remember(),
    // From the webview: only a literal true asks for the backward pass.
    computeExperts: (message) => void experts.compute(message.taylor === true),
    cancelExperts: () => experts.cancel(),
    computeHistogram: (message) => void computeHistogram(message.tensor),
  });
  return { dispose: () => (inspectJob.cancel(), statsJob.cancel(), histogramJob.cancel(), layers.dispose(), experts.dispose(), subscription.dispose()) };
}
