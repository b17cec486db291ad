// "Open Report": the checkpoint summary as a self-contained HTML file the user can keep or share, written where
// they choose (never over a file that is not an earlier report), then opened in their browser.
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { CancelledError, errorMessage, InputError } from '../../errors';
import { renderReport } from '../../report/html';
import { assertReplaceableReport, writeFileAtomically } from '../../report/write';
import { analysisWorker } from '../shared/analysisService';
import { log } from '../shared/log';

/** `destination` is asked for with a save dialog unless the caller (another command, a test) gives it. */
export async function writeReport(extensionUri: vscode.Uri, target: vscode.Uri, destination?: vscode.Uri): Promise<vscode.Uri | undefined> {
  const name = basename(target.fsPath);
  const suggested = join(dirname(target.fsPath), `${name.replace(/\.[^.]+$/, '')}.importance-report.html`);
  destination ??= await vscode.window.showSaveDialog({
    title: `Save the Importance Lens report of ${name}`,
    defaultUri: vscode.Uri.file(suggested),
    filters: { 'HTML report': ['html'] },
  });
  if (!destination) return undefined;
  const saved = destination;
  try {
    await assertReplaceableReport(destination.fsPath);
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Importance Lens: report of ${name}`, cancellable: true },
      (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        return analysisWorker().run({ analysis: 'inspect', path: target.fsPath }, { signal: controller.signal, onProgress: (p) => progress.report({ message: p.message }) });
      },
    );
    const assets = {
      webviewJs: await readFile(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js').fsPath, 'utf8'),
      css: await readFile(vscode.Uri.joinPath(extensionUri, 'media', 'panel.css').fsPath, 'utf8'),
    };
    await writeFileAtomically(destination.fsPath, renderReport(name, { type: 'inspectResult', result: outcome.result }, assets));
    void vscode.window.showInformationMessage(`Importance Lens: wrote ${basename(saved.fsPath)}`, 'Open in Browser').then((choice) => {
      if (choice) void vscode.env.openExternal(saved);
    });
    return saved;
  } catch (error) {
    if (error instanceof CancelledError) return undefined;
    if (!(error instanceof InputError)) log.error(`report ${target.fsPath}: ${errorMessage(error)}`);
    void vscode.window.showErrorMessage(`Importance Lens: ${errorMessage(error)}`);
    return undefined;
  }
}
