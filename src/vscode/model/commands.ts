// Command handlers. "Analyze Importance" works on what the user points at (explorer selection, the active editor,
// or a file picked in a dialog); on a CSV it is "Analyze CSV Importance".
import * as vscode from 'vscode';
import { openDialogFilters } from '../../formats/registry';
import { compareWithBase } from '../delta/compareWithBase';
import { analyzeCsv } from '../dataset/csvAnalyze';
import { showInspectPanel } from '../shared/panel';
import { writeReport } from './report';


export function register(context: vscode.ExtensionContext): void {
  const { extensionUri } = context;
  context.subscriptions.push(
    vscode.commands.registerCommand('importanceLens.analyze', async (clicked?: vscode.Uri, selected?: vscode.Uri[]) => {
      const targets = selected && selected.length > 0 ? selected : [clicked ?? activeResource() ?? (await pickFile('Analyze Importance'))];
      for (const target of targets) {
        if (!target) continue;
        if (/\.(csv|tsv)$/i.test(target.path)) await analyzeCsv(extensionUri, target);
        else showInspectPanel(extensionUri, target);
      }
    }),
    vscode.commands.registerCommand('importanceLens.openReport', async (clicked?: vscode.Uri, destination?: vscode.Uri) => {
      const target = clicked ?? activeResource() ?? (await pickFile('Open Report'));
      return target ? writeReport(extensionUri, target, destination) : undefined;
    }),
    vscode.commands.registerCommand('importanceLens.analyzeCsv', (clicked?: vscode.Uri) => analyzeCsv(extensionUri, clicked ?? csvResource())),
    vscode.commands.registerCommand('importanceLens.compareWithBase', (clicked?: vscode.Uri, second?: vscode.Uri | vscode.Uri[]) =>
      compareWithBase(extensionUri, clicked ?? activeResource(), second, pickFile),
    ),
  );
}

/** The file in the active text editor or the active custom editor (a checkpoint summary tab). */
function activeResource(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom) return input.uri;
  return vscode.window.activeTextEditor?.document.uri;
}

/** The active file when it is a CSV (the palette command on an open CSV); otherwise the command asks. */
function csvResource(): vscode.Uri | undefined {
  const active = activeResource();
  return active && /\.(csv|tsv)$/i.test(active.path) ? active : undefined;
}

/** `near`: a file whose folder the dialog starts in (the tuned checkpoint's, when asking for its base). */
async function pickFile(title: string, near?: vscode.Uri): Promise<vscode.Uri | undefined> {
  const defaultUri = near ? vscode.Uri.joinPath(near, '..') : undefined;
  const picked = await vscode.window.showOpenDialog({ title, defaultUri, canSelectFiles: true, canSelectFolders: true, canSelectMany: false, filters: openDialogFilters() });
  return picked?.[0];
}
