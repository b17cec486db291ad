// Shared by the in-host test files: the extension's id, files of the test workspace, polling for UI state, and
// putting the workbench back as a test found it (so no test depends on what an earlier one left open or modified).
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

/**
 * `promise`, or an error naming what was awaited once `timeoutMs` have passed (below mocha's per-test limit, so a
 * wait that never ends says what it waited for rather than only that the test timed out).
 */
export async function awaitWithin<T>(what: string, promise: Promise<T>, timeoutMs = 60_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function allTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((group) => group.tabs);
}

/** The tab of a webview panel whose view type ends with `viewType` (VS Code prefixes the extension's id), in any group. */
export function webviewTab(viewType: string): vscode.Tab | undefined {
  return allTabs().find((tab) => tab.input instanceof vscode.TabInputWebview && tab.input.viewType.endsWith(viewType));
}

/** The tab of a text editor on `uri`, in any group. */
export function textTab(uri: vscode.Uri): vscode.Tab | undefined {
  return allTabs().find((tab) => tab.input instanceof vscode.TabInputText && tab.input.uri.toString() === uri.toString());
}

/**
 * Reverts every document a test left modified and closes every editor and panel; resolves once no tab is left.
 * VS Code's revert acts on the active editor, so each document is made the active one first and that is checked
 * (a panel opened beside it may hold the focus); closing a modified editor instead would ask whether to save and
 * wait on that dialog. Revert reads the file back: unlike a save it cannot conflict with a write on disk.
 */
export async function resetWorkbench(): Promise<void> {
  for (const document of vscode.workspace.textDocuments.filter((d) => d.isDirty)) {
    const name = document.uri.toString();
    await vscode.window.showTextDocument(document, { preview: false, preserveFocus: false });
    await waitFor(`${name} to be the active editor, to revert it`, () => {
      const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
      return input instanceof vscode.TabInputText && input.uri.toString() === name ? true : undefined;
    });
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await waitFor(`${name} to be reverted`, () => (document.isDirty ? undefined : true));
  }
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  await waitFor('every editor and panel to close', () => (allTabs().length === 0 ? true : undefined));
}
