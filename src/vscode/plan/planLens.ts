// CodeLens on a *.pruneplan.json: what can be done with the plan, one click each. The commands also run from the
// palette, on the plan in the active editor (or one picked in a dialog).
import * as vscode from 'vscode';

export const PLAN_SELECTOR: vscode.DocumentFilter = { scheme: 'file', pattern: '**/*.pruneplan.json' };

const LENSES: [command: string, title: string, tooltip: string][] = [
  ['importanceLens.previewPlan', 'Preview diff', 'Open config.json and the weight map, original vs planned, in the diff editor'],
  ['importanceLens.showPlan', 'Show plan', 'The plan as a table: every removed layer, head or expert with its score, linked to its source'],
  ['importanceLens.applyPlan', 'Apply…', 'Write the pruned checkpoint to a new folder (the original is only read)'],
  ['importanceLens.verifyPlan', 'Verify', 'Apply to a scratch folder and compare perplexity on the sample text, and parameter counts'],
];

export function register(context: vscode.ExtensionContext): void {
  context.subscriptions.push(vscode.languages.registerCodeLensProvider(PLAN_SELECTOR, {
    provideCodeLenses: (document) => {
      const top = new vscode.Range(0, 0, 0, 0);
      return LENSES.map(([command, title, tooltip]) => new vscode.CodeLens(top, { command, title, tooltip, arguments: [document.uri] }));
    },
  }));
}

/** The plan a command acts on: its argument, the active editor's plan, or one picked in a dialog. */
export async function planTarget(arg: unknown): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri) return arg;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && vscode.languages.match(PLAN_SELECTOR, vscode.window.activeTextEditor!.document) > 0) return active;
  const picked = await vscode.window.showOpenDialog({
    title: 'Pick a pruning plan (*.pruneplan.json)', defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    canSelectFiles: true, canSelectFolders: false, canSelectMany: false, filters: { 'Pruning plans': ['json'] },
  });
  return picked?.[0];
}
