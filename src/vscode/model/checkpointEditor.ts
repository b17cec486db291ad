// Read-only custom editor for checkpoint files: opening a .safetensors/.onnx/.gguf shows its summary instead of
// binary noise. The document holds nothing but its URI; all reading happens in the analysis process.
import * as vscode from 'vscode';
import { attachInspectSession } from './inspectSession';
import { webviewHtml, webviewOptions } from '../shared/webviewHtml';

export const CHECKPOINT_EDITOR_VIEW_TYPE = 'importanceLens.checkpoint';

class CheckpointEditorProvider implements vscode.CustomReadonlyEditorProvider {
  constructor(private readonly extensionUri: vscode.Uri) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): void {
    panel.webview.options = webviewOptions(this.extensionUri);
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, document.uri.path);
    const session = attachInspectSession(panel.webview, document.uri);
    panel.onDidDispose(() => session.dispose());
  }
}

export function register(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.window.registerCustomEditorProvider(CHECKPOINT_EDITOR_VIEW_TYPE, new CheckpointEditorProvider(context.extensionUri), {
      supportsMultipleEditorsPerDocument: true,
    }),
  );
}
