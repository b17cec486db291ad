// "Preview diff": a plan carried out on paper, in VS Code's diff editor. A read-only document provider serves
// config.json and the weight map, original and planned, computed by the analysis process from the plan (an open
// editor's unsaved text included) and the checkpoint's headers. The original config.json is served as the bytes
// on disk, read-only: the user's file is never opened for writing. A single-file checkpoint has no index, so
// its weight map is generated for both sides.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { PlanPreview } from '../../protocol/plan';
import { runAnalysis } from '../shared/analysisService';
import { reportFailure } from './planJobs';
import { withCancellableProgress } from '../shared/progress';

export const PLAN_SCHEME = 'importance-lens-plan';
type Side = 'original' | 'planned';
type Doc = 'config.json' | 'weight_map.json';

const previews = new Map<string, Promise<PlanPreview>>();
const changed = new vscode.EventEmitter<vscode.Uri>();

export function register(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    changed,
    vscode.workspace.registerTextDocumentContentProvider(PLAN_SCHEME, { onDidChange: changed.event, provideTextDocumentContent }),
    // An open diff follows the plan: saving it previews it again (a plan made invalid says so).
    vscode.workspace.onDidSaveTextDocument((document) => {
      const plan = document.uri.fsPath;
      if (vscode.workspace.textDocuments.some((d) => d.uri.scheme === PLAN_SCHEME && d.uri.query === plan)) void refreshPreview(plan);
    }),
  );
}

/** `importance-lens-plan:/<side>/<doc>?<plan path>`: the path ends in .json, so the editor colours it as JSON. */
export function planDocumentUri(plan: string, side: Side, doc: Doc): vscode.Uri {
  return vscode.Uri.from({ scheme: PLAN_SCHEME, path: `/${side}/${doc}`, query: plan });
}

async function provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
  const [, side, doc] = uri.path.split('/') as [string, Side, Doc];
  let preview = previews.get(uri.query);
  if (!preview) {
    // A diff restored after a reload: compute it again.
    const pending = computePreview(uri.query);
    previews.set(uri.query, pending);
    // A failure is shown in the document; the next request tries again.
    pending.catch(() => previews.get(uri.query) === pending && previews.delete(uri.query));
    preview = pending;
  }
  const result = await preview;
  const pair = doc === 'config.json' ? result.config : result.weightMap;
  return side === 'original' ? pair.before : pair.after;
}

/** The preview from the plan as its editor holds it (unsaved edits included), or as the file says. */
export function computePreview(plan: string, signal?: AbortSignal): Promise<PlanPreview> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === plan);
  return runAnalysis({ analysis: 'plan-preview', plan, ...(open?.isDirty ? { text: open.getText() } : {}) }, { ...(signal ? { signal } : {}) }).then((o) => o.result);
}

/** Computes the preview afresh (errors are the validator's, shown to the user); undefined when it failed. */
export async function refreshPreview(plan: string): Promise<PlanPreview | undefined> {
  const result = await withCancellableProgress(`Previewing ${basename(plan)}`, (signal) => computePreview(plan, signal)).then((r) => r, reportFailure(`Preview of ${basename(plan)}`));
  if (!result) return undefined;
  previews.set(plan, Promise.resolve(result));
  for (const side of ['original', 'planned'] as const) for (const doc of ['config.json', 'weight_map.json'] as const) changed.fire(planDocumentUri(plan, side, doc));
  return result;
}

/** Opens the weight-map diff, then the config.json diff in front of it. */
export async function previewDiff(plan: string): Promise<boolean> {
  const preview = await refreshPreview(plan);
  if (!preview) return false;
  const name = basename(plan);
  const mapTitle = preview.weightMap.indexFile ? `${basename(preview.weightMap.indexFile)} ↔ planned (${name})` : `weight map (generated) ↔ planned (${name})`;
  await vscode.commands.executeCommand('vscode.diff', planDocumentUri(plan, 'original', 'weight_map.json'), planDocumentUri(plan, 'planned', 'weight_map.json'), mapTitle, { preview: false });
  await vscode.commands.executeCommand('vscode.diff', planDocumentUri(plan, 'original', 'config.json'), planDocumentUri(plan, 'planned', 'config.json'), `config.json ↔ planned (${name})`, { preview: false });
  return true;
}
