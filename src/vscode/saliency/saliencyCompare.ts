// "Saliency Across Checkpoints…" (the Token Saliency panel's button, or the palette): the result shown
// in the panel, re-run with the same method, text and target over more checkpoints of its model (fine-tunes, a
// training run) — saliency --compare. The checkpoints come from VS Code's open dialog, one or more at a time (the
// web workbench's dialog takes one: "Add another checkpoint…" opens it again), and are remembered per workspace
// like the model pick. Scripts and tests pass {models} and see no dialog.
import * as vscode from 'vscode';
import { CancelledError, errorMessage, InputError } from '../../errors';
import type { SaliencyResult } from '../../protocol/results';
import { runAnalysis } from '../shared/analysisService';
import { textModelDirectory } from '../model/layersOnText';
import { log } from '../shared/log';
import { runSettings } from '../shared/settings';
import { showSaliency } from './saliencyDecorations';
import { shownInPanel, showSaliencyPanel } from './saliencyPanel';

const CHECKPOINTS_KEY = 'importanceLens.saliencyCompareModels';

export interface CompareArgs {
  /** The checkpoints to compare the shown result's model with. */
  models?: string[];
}

export function parseCompareArgs(args: unknown): CompareArgs {
  if (typeof args !== 'object' || args === null || args instanceof vscode.Uri) return {};
  const models = (args as Record<string, unknown>).models;
  return Array.isArray(models) && models.every((m) => typeof m === 'string') ? { models } : {};
}

export async function compareAcrossCheckpoints(context: vscode.ExtensionContext, args: CompareArgs): Promise<SaliencyResult | undefined> {
  const placed = shownInPanel();
  if (!placed) {
    void vscode.window.showWarningMessage('Importance Lens: run Token Saliency on a text first; the comparison re-runs that result over other checkpoints.');
    return undefined;
  }
  const first = placed.result.path;
  const models = args.models ?? (await pickCheckpoints(context, first));
  if (!models || models.length === 0) return undefined;
  const directories = models.map((m) => textModelDirectory(m));
  const unusable = models.find((_, i) => directories[i] === null);
  if (unusable !== undefined) {
    void vscode.window.showErrorMessage(`Importance Lens: ${unusable} is not a Hugging Face model folder with config.json and tokenizer.json, nor a .gguf file.`);
    return undefined;
  }
  const { result } = placed;
  const { providers, maxTokens } = runSettings();
  const request = {
    analysis: 'saliency', model: first, text: { text: result.text }, method: result.method, seeds: result.seeds, maxTokens, providers,
    ...(result.steps !== undefined ? { steps: result.steps } : {}),
    ...(result.target.fromText ? {} : { target: result.target.text }),
    compare: directories as string[],
  } as const;
  try {
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Token Saliency over ${models.length + 1} checkpoints`, cancellable: true },
      (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        return runAnalysis(request, { signal: controller.signal, onProgress: (p) => progress.report({ message: p.message }) });
      },
    );
    const compared = { ...placed, result: outcome.result };
    if (placed.document.version === placed.version) showSaliency(compared);
    showSaliencyPanel(context.extensionUri, compared);
    return outcome.result;
  } catch (error) {
    if (error instanceof CancelledError) return undefined;
    if (!(error instanceof InputError)) log.error(`saliency across checkpoints of ${first}: ${errorMessage(error)}`);
    void vscode.window.showErrorMessage(`Importance Lens: Token Saliency across checkpoints failed: ${errorMessage(error)}`);
    return undefined;
  }
}

interface Choice extends vscode.QuickPickItem {
  choice: 'run' | 'add' | 'remembered';
}

const names = (paths: readonly string[]) => paths.map((p) => vscode.workspace.asRelativePath(p)).join(', ');

/** The remembered checkpoints, or ones picked in the open dialog; undefined when the user backs out. */
async function pickCheckpoints(context: vscode.ExtensionContext, first: string): Promise<string[] | undefined> {
  const remembered = (context.workspaceState.get<string[]>(CHECKPOINTS_KEY) ?? []).filter((p) => p !== first && textModelDirectory(p) !== null);
  if (remembered.length > 0) {
    const picked = await vscode.window.showQuickPick<Choice>([
      { label: `Compare with the ${remembered.length} remembered checkpoint${remembered.length === 1 ? '' : 's'}`, detail: names(remembered), choice: 'remembered' },
      { label: '$(folder) Pick checkpoints…', choice: 'add' },
    ], { title: 'Token Saliency across checkpoints', ignoreFocusOut: true });
    if (!picked) return undefined;
    if (picked.choice === 'remembered') return remembered;
  }
  const chosen: string[] = [];
  for (;;) {
    const uris = await vscode.window.showOpenDialog({
      title: `Pick checkpoints to compare with ${vscode.workspace.asRelativePath(first)} (same architecture and tokenizer)`,
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
      // Folders (Hugging Face) and .gguf files; where a dialog cannot do both (Windows, Linux) it offers folders.
      canSelectFiles: true, canSelectFolders: true, canSelectMany: true,
      openLabel: 'Compare',
    });
    for (const uri of uris ?? []) {
      if (uri.scheme !== 'file' || !textModelDirectory(uri.fsPath)) {
        void vscode.window.showErrorMessage(`Importance Lens: ${uri.fsPath} has no config.json and tokenizer.json and is not a .gguf file; pick checkpoints of the same model.`);
      } else if (uri.fsPath !== first && !chosen.includes(uri.fsPath)) {
        chosen.push(uri.fsPath);
      }
    }
    if (chosen.length === 0) return undefined;
    // Kept open when focus moves (a click in the explorer to look at the folders): it is a step of this flow.
    const next = await vscode.window.showQuickPick<Choice>([
      { label: `Compare ${chosen.length + 1} checkpoints`, detail: `${vscode.workspace.asRelativePath(first)}, ${names(chosen)}`, choice: 'run' },
      { label: '$(add) Add another checkpoint…', choice: 'add' },
    ], { title: 'Token Saliency across checkpoints', ignoreFocusOut: true });
    if (!next) return undefined;
    if (next.choice === 'run') break;
  }
  await context.workspaceState.update(CHECKPOINTS_KEY, chosen);
  return chosen;
}
