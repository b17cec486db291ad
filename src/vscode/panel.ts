// The Importance Lens panel: one per analysed path, revealed again when the same path is analysed twice.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { attachInspectSession } from './inspectSession';
import { webviewHtml, webviewOptions } from './webviewHtml';

export const PANEL_VIEW_TYPE = 'importanceLens.panel';
const open = new Map<string, vscode.WebviewPanel>();

export function showInspectPanel(extensionUri: vscode.Uri, target: vscode.Uri): vscode.WebviewPanel {
  const key = target.toString();
  const existing = open.get(key);
  if (existing) {
    existing.reveal();
    return existing;
  }
  const title = `Importance: ${basename(target.fsPath)}`;
  const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, title, vscode.ViewColumn.Active, webviewOptions(extensionUri));
  panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.svg');
  panel.webview.html = webviewHtml(panel.webview, extensionUri, title);
  const session = attachInspectSession(panel.webview, target);
  open.set(key, panel);
  panel.onDidDispose(() => {
    session.dispose();
    open.delete(key);
  });
  return panel;
}
