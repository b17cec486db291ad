// Activation registers contributions and nothing else: no file is read and no process is started until used.
// The returned API runs analyses through the same service the panels use (other extensions, the in-host tests).
import type * as vscode from 'vscode';
import * as analysisService from './vscode/analysisService';
import * as checkpointEditor from './vscode/checkpointEditor';
import * as commands from './vscode/commands';
import * as log from './vscode/log';
import * as statusBar from './vscode/statusBar';

export function activate(context: vscode.ExtensionContext): analysisService.ImportanceLensApi {
  log.register(context);
  const api = analysisService.register(context);
  checkpointEditor.register(context);
  commands.register(context);
  statusBar.register(context);
  return api;
}

export function deactivate(): void {}
