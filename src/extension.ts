// Activation registers contributions and nothing else: no file is read and no process is started until used.
import type * as vscode from 'vscode';
import * as analysisService from './vscode/analysisService';
import * as checkpointEditor from './vscode/checkpointEditor';
import * as commands from './vscode/commands';
import * as log from './vscode/log';

export function activate(context: vscode.ExtensionContext): void {
  log.register(context);
  analysisService.register(context);
  checkpointEditor.register(context);
  commands.register(context);
}

export function deactivate(): void {}
