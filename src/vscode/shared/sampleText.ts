// Which text an activation analysis runs on: the importanceLens.sampleTextFile setting, or, when it is empty, a
// file the user picks (the panel then offers to keep it as the setting). A setting that points nowhere is an error
// with a way to fix it.
import * as vscode from 'vscode';
import { assertNever } from '../../errors';
import { sampleTextFile, showSettingError } from './settings';

export type TextChoice = { kind: 'file'; path: string; picked: boolean } | { kind: 'none'; message: string };

/** `ask`: show an open dialog when the setting is empty (false for analyses that can go on without text). */
export async function chooseSampleText(ask: boolean): Promise<TextChoice> {
  const setting = sampleTextFile();
  switch (setting.kind) {
    case 'file':
      return { ...setting, picked: false };
    case 'missing': {
      const where = setting.resolved ? ` (${setting.resolved})` : ' (a relative path needs a workspace folder)';
      const message = `The sample text file "${setting.setting}"${where} set in importanceLens.sampleTextFile is not a file.`;
      void showSettingError(`Importance Lens: ${message}`);
      return { kind: 'none', message };
    }
    case 'unset': {
      const message = 'No sample text: set importanceLens.sampleTextFile, or pick a text file when asked.';
      if (!ask) return { kind: 'none', message };
      const picked = await vscode.window.showOpenDialog({
        title: 'Pick a text file to run the model on (importanceLens.sampleTextFile is empty)',
        defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
        canSelectFiles: true, canSelectFolders: false, canSelectMany: false,
        filters: { 'Text': ['txt', 'md'], 'All files': ['*'] },
      });
      const file = picked?.[0];
      if (!file || file.scheme !== 'file') {
        void showSettingError(`Importance Lens: ${message}`);
        return { kind: 'none', message };
      }
      return { kind: 'file', path: file.fsPath, picked: true };
    }
    default:
      return assertNever(setting, 'sample text setting');
  }
}
