// Importance Lens panels: one per key (an analysed path, a base+tuned pair), revealed again when the same key is
// asked for twice. Every panel shares the webview shell (webviewHtml) and gets its behaviour from a session.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { attachInspectSession } from '../model/inspectSession';
import { webviewHtml, webviewOptions } from './webviewHtml';

export const PANEL_VIEW_TYPE = 'importanceLens.panel';
const open = new Map<string, vscode.WebviewPanel>();

export interface PanelSpec {
  viewType: string;
  /** Identity of the panel: asking again for the same key reveals the open one. */
  key: string;
  title: string;
  attach: (webview: vscode.Webview) => vscode.Disposable;
  /** Where a new panel opens (default: the active group); `preserveFocus` keeps the editor focused. */
  column?: { viewColumn: vscode.ViewColumn; preserveFocus?: boolean };
}

export function showPanel(extensionUri: vscode.Uri, spec: PanelSpec): vscode.WebviewPanel {
  const key = `${spec.viewType}\u0000${spec.key}`;
  const existing = open.get(key);
  if (existing) {
    existing.reveal();
    return existing;
  }
  const panel = vscode.window.createWebviewPanel(spec.viewType, spec.title, spec.column ?? vscode.ViewColumn.Active, webviewOptions(extensionUri));
  panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.svg');
  panel.webview.html = webviewHtml(panel.webview, extensionUri, spec.title);
  const session = spec.attach(panel.webview);
  open.set(key, panel);
  panel.onDidDispose(() => {
    session.dispose();
    open.delete(key);
  });
  return panel;
}

export function showInspectPanel(extensionUri: vscode.Uri, target: vscode.Uri): vscode.WebviewPanel {
  return showPanel(extensionUri, {
    viewType: PANEL_VIEW_TYPE,
    key: target.toString(),
    title: `Importance: ${basename(target.fsPath)}`,
    attach: (webview) => attachInspectSession(webview, target),
  });
}
