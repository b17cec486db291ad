// "Token Saliency": which tokens of the selection (or the whole document) the model leans on to predict the text's
// last token — or a given continuation. The model is picked once per workspace and remembered; the method is asked
// each time. Scripts and tests pass {model, method, seeds, target} and see no dialog. The result is drawn on the
// editor and shown in the saliency panel beside it.
import * as vscode from 'vscode';
import { CancelledError, errorMessage, InputError } from '../../errors';
import type { SaliencyMethod, SaliencyResult } from '../../protocol/results';
import { SALIENCY_METHOD_INFO, SALIENCY_METHODS } from '../../protocol/saliencyMethods';
import { runAnalysis } from '../shared/analysisService';
import { textModelDirectory } from '../model/layersOnText';
import { log } from '../shared/log';
import { clearSaliency, register as registerDecorations, showSaliency, shownDecorations, type ShownDecorations } from './saliencyDecorations';
import { showSaliencyPanel } from './saliencyPanel';
import { compareAcrossCheckpoints, parseCompareArgs } from './saliencyCompare';
import { runSettings } from '../shared/settings';

const MODEL_KEY = 'importanceLens.saliencyModel';

export interface SaliencyArgs {
  /** A Hugging Face model directory (config.json + weights + tokenizer.json) or a .gguf file. */
  model?: string;
  method?: SaliencyMethod;
  seeds?: number;
  /** A continuation to explain instead of the text's last token. */
  target?: string;
}

export interface SaliencyApi {
  /** The token saliency drawn on an editor now, if any. */
  shownSaliency: () => ShownDecorations | undefined;
}

export function register(context: vscode.ExtensionContext): SaliencyApi {
  registerDecorations(context);
  context.subscriptions.push(
    vscode.commands.registerCommand('importanceLens.saliency', (args?: unknown) => tokenSaliency(context, parseArgs(args))),
    vscode.commands.registerCommand('importanceLens.clearSaliency', () => clearSaliency()),
    vscode.commands.registerCommand('importanceLens.saliencyCompare', (args?: unknown) => compareAcrossCheckpoints(context, parseCompareArgs(args))),
  );
  return { shownSaliency: shownDecorations };
}

/** Arguments come from keybindings and scripts as untyped JSON: keep only well-formed fields. */
function parseArgs(args: unknown): SaliencyArgs {
  if (typeof args !== 'object' || args === null || args instanceof vscode.Uri) return {};
  const a = args as Record<string, unknown>;
  return {
    ...(typeof a.model === 'string' ? { model: a.model } : {}),
    ...(typeof a.method === 'string' && (SALIENCY_METHODS as readonly string[]).includes(a.method) ? { method: a.method as SaliencyMethod } : {}),
    ...(typeof a.seeds === 'number' && Number.isInteger(a.seeds) && a.seeds >= 1 ? { seeds: a.seeds } : {}),
    ...(typeof a.target === 'string' && a.target !== '' ? { target: a.target } : {}),
  };
}

async function tokenSaliency(context: vscode.ExtensionContext, args: SaliencyArgs): Promise<SaliencyResult | undefined> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showWarningMessage('Importance Lens: Token Saliency works on the text of the active editor; open a text file first.');
    return undefined;
  }
  const remembered = context.workspaceState.get<string>(MODEL_KEY);
  // A remembered model that has since moved or been deleted is asked for again rather than failing every time.
  let model = args.model ?? (remembered && textModelDirectory(remembered) ? remembered : await pickModel(context));
  let method = args.method;
  while (model && !method) {
    const choice = await pickMethod(model);
    if (choice === undefined) return undefined;
    if (choice === 'model') model = (await pickModel(context)) ?? model;
    else method = choice;
  }
  if (!model || !method) return undefined;
  const directory = textModelDirectory(model);
  if (!directory) {
    void vscode.window.showErrorMessage(`Importance Lens: ${model} is not a Hugging Face model folder with config.json and tokenizer.json, nor a .gguf file.`);
    return undefined;
  }
  const document = editor.document;
  const range = editor.selection.isEmpty ? new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length)) : editor.selection;
  const text = document.getText(range);
  const version = document.version;
  const offset = document.offsetAt(range.start);
  const { providers, maxTokens, seeds, reagentMaxSteps, residualStream } = runSettings();
  const request = {
    analysis: 'saliency', model: directory, text: { text }, method, seeds: args.seeds ?? seeds, maxTokens, providers,
    ...(method === 'reagent' ? { maxSteps: reagentMaxSteps } : {}),
    ...(args.target !== undefined ? { target: args.target } : {}),
    ...(/\.onnx$/i.test(directory) && residualStream.length > 0 ? { residualStream } : {}),
  } as const;
  try {
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Token Saliency', cancellable: true },
      (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        return runAnalysis(request, { signal: controller.signal, onProgress: (p) => progress.report({ message: p.message }) });
      },
    );
    const placed = { document, version, offset, result: outcome.result };
    if (document.version === version) showSaliency(placed);
    showSaliencyPanel(context.extensionUri, placed);
    return outcome.result;
  } catch (error) {
    if (error instanceof CancelledError) return undefined;
    if (!(error instanceof InputError)) log.error(`saliency ${model}: ${errorMessage(error)}`);
    void vscode.window.showErrorMessage(`Importance Lens: Token Saliency failed: ${errorMessage(error)}`);
    return undefined;
  }
}

async function pickModel(context: vscode.ExtensionContext): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title: 'Pick the model folder for Token Saliency (config.json, model.safetensors, tokenizer.json)',
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    canSelectFiles: false, canSelectFolders: true, canSelectMany: false,
  });
  const folder = picked?.[0];
  if (!folder) return undefined;
  if (folder.scheme !== 'file' || !textModelDirectory(folder.fsPath)) {
    void vscode.window.showErrorMessage(`Importance Lens: ${folder.fsPath} has no config.json and tokenizer.json; pick a Hugging Face model folder.`);
    return undefined;
  }
  await context.workspaceState.update(MODEL_KEY, folder.fsPath);
  return folder.fsPath;
}

interface MethodItem extends vscode.QuickPickItem {
  choice: SaliencyMethod | 'model';
}

async function pickMethod(model: string): Promise<SaliencyMethod | 'model' | undefined> {
  const { seeds } = runSettings();
  const items: (MethodItem | vscode.QuickPickItem)[] = [
    ...SALIENCY_METHODS.map((choice): MethodItem => {
      const { label, description, detail } = SALIENCY_METHOD_INFO[choice];
      return { label, description: choice === 'reagent' ? `random replacement, ${seeds} seed${seeds === 1 ? '' : 's'}` : description, detail, choice };
    }),
    { label: '', kind: vscode.QuickPickItemKind.Separator },
    { label: '$(folder) Pick another model…', description: model, choice: 'model' },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'Token Saliency: method', placeHolder: 'How to measure each token’s support for the prediction' });
  return picked && 'choice' in picked ? (picked as MethodItem).choice : undefined;
}
