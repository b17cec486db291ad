// Shared by the in-host test files: the extension's id, files of the test workspace, and polling for UI state.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';

export const EXTENSION_ID = 'importance-lens.importance-lens';

export function workspaceFile(...segments: string[]): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the test workspace is open');
  return vscode.Uri.joinPath(folder.uri, ...segments);
}

/**
 * Polls `probe` until it gives a value. The deadline is for a machine under load (panels and language features
 * starting on two busy cores took over 15 s); a pass returns as soon as the value is there.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
