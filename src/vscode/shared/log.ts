// The "Importance Lens" output channel (a log channel: levels, timestamps and colouring come from VS Code).
import * as vscode from 'vscode';

let channel: vscode.LogOutputChannel | undefined;

export function register(context: vscode.ExtensionContext): void {
  channel = vscode.window.createOutputChannel('Importance Lens', { log: true });
  context.subscriptions.push(channel);
}

export const log = {
  info: (message: string) => channel?.info(message),
  warn: (message: string) => channel?.warn(message),
  error: (message: string) => channel?.error(message),
  show: () => channel?.show(true),
};
