// The "Token Saliency" panel: one panel beside the editor that shows the latest result, and reveals a token in its
// editor when the webview asks. The webview names a token by its index in the result; the host maps it through
// the result's own offsets, so no message can point at another range or file.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { SaliencyPanelFromView, SaliencyPanelToView } from '../../protocol/panels/saliency';
import type { PlacedSaliency } from './saliencyDecorations';
import { onWebviewMessage } from '../shared/sessionJob';
import { webviewHtml, webviewOptions } from '../shared/webviewHtml';

export const SALIENCY_VIEW_TYPE = 'importanceLens.saliency';

let panel: vscode.WebviewPanel | undefined;
let shown: PlacedSaliency | undefined;

export function showSaliencyPanel(extensionUri: vscode.Uri, placed: PlacedSaliency): void {
  shown = placed;
  if (panel) {
    post(panel.webview);
    panel.reveal(vscode.ViewColumn.Beside, true);
    return;
  }
  const created = vscode.window.createWebviewPanel(SALIENCY_VIEW_TYPE, 'Token Saliency', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, webviewOptions(extensionUri));
  created.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.svg');
  created.webview.html = webviewHtml(created.webview, extensionUri, 'Token Saliency');
  // The saliency view offers revealing tokens and comparing checkpoints; other messages are ignored.
  const subscription = onWebviewMessage<SaliencyPanelFromView>(created.webview, {
    ready: () => post(created.webview),
    revealToken: (message) => void reveal(message.index),
    compareCheckpoints: () => void vscode.commands.executeCommand('importanceLens.saliencyCompare'),
  });
  created.onDidDispose(() => {
    subscription.dispose();
    panel = undefined;
  });
  panel = created;
}

/** The result the panel shows now (the one "Compare across checkpoints…" re-runs), if the panel is open. */
export function shownInPanel(): PlacedSaliency | undefined {
  return panel ? shown : undefined;
}

function post(webview: vscode.Webview): void {
  if (!shown) return;
  const message: SaliencyPanelToView = { type: 'saliencyResult', result: shown.result, document: basename(shown.document.uri.fsPath || shown.document.uri.path) };
  void webview.postMessage(message);
}

async function reveal(index: number): Promise<void> {
  const placed = shown;
  const token = placed && Number.isInteger(index) ? placed.result.tokens[index] : undefined;
  if (!placed || !token) return;
  if (placed.document.isClosed || placed.document.version !== placed.version) {
    void vscode.window.showInformationMessage('Importance Lens: the document changed since this saliency was computed; run Token Saliency again to map tokens to it.');
    return;
  }
  const range = new vscode.Range(placed.document.positionAt(placed.offset + token.start), placed.document.positionAt(placed.offset + token.end));
  const visible = vscode.window.visibleTextEditors.find((e) => e.document === placed.document);
  const editor = await vscode.window.showTextDocument(placed.document, { viewColumn: visible?.viewColumn, selection: range, preserveFocus: false });
  editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}
