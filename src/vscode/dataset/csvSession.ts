// The Dataset panel of one CSV file: shows its profile and the latest analysis of it (a new analysis of the same
// file replaces the view in the same panel), reveals a row's line in the CSV editor when the webview asks, and opens
// the resampled CSV. The webview names a line; the host accepts only lines of rows the view lists.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { CsvDatasetView } from '../../protocol/csv';
import type { DatasetPanelFromView, DatasetPanelToView } from '../../protocol/panels/dataset';
import { showPanel } from '../shared/panel';
import { onWebviewMessage } from '../shared/sessionJob';

export const DATASET_VIEW_TYPE = 'importanceLens.dataset';

const sessions = new Map<string, (view: CsvDatasetView) => void>();

export function showDatasetPanel(extensionUri: vscode.Uri, csv: vscode.Uri, view: CsvDatasetView): void {
  sessions.get(csv.toString())?.(view);
  showPanel(extensionUri, {
    viewType: DATASET_VIEW_TYPE,
    key: csv.toString(),
    title: `Dataset: ${basename(csv.fsPath)}`,
    attach: (webview) => attachDatasetSession(webview, csv, view),
  });
}

function attachDatasetSession(webview: vscode.Webview, csv: vscode.Uri, initial: CsvDatasetView): vscode.Disposable {
  let view = initial;
  const key = csv.toString();
  const post = () => void webview.postMessage({ type: 'datasetResult', view } satisfies DatasetPanelToView);
  sessions.set(key, (next) => {
    view = next;
    post();
  });
  // The Dataset view sends only these; anything else is ignored.
  const subscription = onWebviewMessage<DatasetPanelFromView>(webview, {
    ready: post,
    revealLine: ({ line }) => {
      const rows = view.analysis?.kind === 'rows' ? [...view.analysis.highest, ...view.analysis.lowest] : [];
      if (rows.some((row) => row.line === line)) void revealLine(csv, line);
    },
    openFile: ({ path }) => {
      if (view.analysis?.kind === 'rows' && view.analysis.resampled?.out === path) void vscode.window.showTextDocument(vscode.Uri.file(path));
    },
  });
  return {
    dispose: () => {
      sessions.delete(key);
      subscription.dispose();
    },
  };
}

/** Opens the CSV beside the panel (or where it is already shown) with `line` (1-based) selected and in view. */
async function revealLine(csv: vscode.Uri, line: number): Promise<void> {
  try {
    const document = await vscode.workspace.openTextDocument(csv);
    if (line < 1 || line > document.lineCount) {
      void vscode.window.showWarningMessage(`Importance Lens: ${basename(csv.fsPath)} has ${document.lineCount} lines now; line ${line} is gone (the file changed since the analysis).`);
      return;
    }
    const range = document.lineAt(line - 1).range;
    const visible = vscode.window.visibleTextEditors.find((e) => e.document === document);
    const editor = await vscode.window.showTextDocument(document, { viewColumn: visible?.viewColumn ?? vscode.ViewColumn.Beside, selection: range, preserveFocus: false });
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  } catch (error) {
    void vscode.window.showErrorMessage(`Importance Lens: cannot open ${basename(csv.fsPath)}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
