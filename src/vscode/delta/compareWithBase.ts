// "Compare With Base Checkpoint": the tuned checkpoint is what the user points at (explorer, active editor, or a
// dialog), the base is asked for with a dialog; callers such as tests may pass both. Opens one panel per pair.
import { basename, dirname } from 'node:path';
import * as vscode from 'vscode';
import { attachDeltaSession } from './deltaSession';
import { showPanel } from '../shared/panel';

export const DELTA_VIEW_TYPE = 'importanceLens.delta';

/**
 * `second` is the explorer's multi-selection when the menu invokes us (ignored: which one would be the base?),
 * or the base checkpoint when another command or a test calls us.
 */
export async function compareWithBase(
  extensionUri: vscode.Uri,
  clicked: vscode.Uri | undefined,
  second: vscode.Uri | vscode.Uri[] | undefined,
  pick: (title: string, near?: vscode.Uri) => Promise<vscode.Uri | undefined>,
): Promise<void> {
  const tuned = clicked ?? (await pick('Pick the fine-tuned checkpoint to compare with its base'));
  if (!tuned) return;
  const base = second instanceof vscode.Uri ? second : await pick(`Pick the base checkpoint to compare ${basename(tuned.fsPath)} with`, tuned);
  if (!base) return;
  showPanel(extensionUri, {
    viewType: DELTA_VIEW_TYPE,
    key: `${base.toString()}\u0000${tuned.toString()}`,
    title: deltaTitle(tuned, base),
    attach: (webview) => attachDeltaSession(webview, tuned, base),
  });
}

/** "Delta: tuned.safetensors vs base.safetensors"; with the folder names when both files have the same name. */
export function deltaTitle(tuned: vscode.Uri, base: vscode.Uri): string {
  const name = (uri: vscode.Uri) => basename(uri.fsPath);
  const named = (uri: vscode.Uri) => (name(tuned) === name(base) ? `${basename(dirname(uri.fsPath))}/${name(uri)}` : name(uri));
  return `Delta: ${named(tuned)} vs ${named(base)}`;
}
