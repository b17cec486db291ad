// Steps through VS Code's workbench UI that several UI tests take: the explorer's context menu and VS Code's own
// open dialog (the simple file dialog of a browser workbench). Both race with the workbench's asynchronous
// drawing, so each step checks that it took before going on.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { type CodeServer, type CodeServerOptions, launchBrowser, ROOT, startCodeServer } from './codeServer';
import { holdAnalysis } from './processes';

/** Where UI tests leave their screenshots for a person to look at (git-ignored). */
export const SCREENSHOTS = join(ROOT, 'test-output', 'ui');

/** The server behind each page openWorkbench made (for holdAnalysisOf). */
const servers = new WeakMap<Page, CodeServer>();

export interface WorkbenchOptions extends CodeServerOptions {
  viewport?: { width: number; height: number };
}

/**
 * code-server on `workspace` with this extension loaded, in a browser page. The server, the browser and the
 * workspace folder go when the test ends.
 */
export async function openWorkbench(t: TestContext, workspace: string, options: WorkbenchOptions = {}): Promise<Page> {
  const { viewport = { width: 1400, height: 900 }, ...serverOptions } = options;
  const server = await startCodeServer(undefined, serverOptions);
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.stop();
    rmSync(workspace, { recursive: true, force: true });
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
  const page = await browser.newPage({ viewport });
  servers.set(page, server);
  await page.goto(server.url(workspace, [['extensionDevelopmentPath', server.remote(ROOT)], ['skipWelcome', 'true']]));
  return page;
}

/**
 * Pauses the analysis processes of the workbench on `page` (see processes.ts) until the returned function resumes
 * them: an analysis started meanwhile stays in flight, however fast the machine.
 */
export function holdAnalysisOf(page: Page): () => void {
  const server = servers.get(page);
  if (!server) throw new Error('holdAnalysisOf: the page was not opened by openWorkbench');
  return holdAnalysis(server.pid);
}

/**
 * Right-clicks `item` in the explorer (inside the already expanded folders) and picks `menuItem`. The explorer can
 * draw before the extension's menu contributions are in, and a row can move while the tree is still filling in:
 * the menu is opened again until the row is the focused one and the entry is there.
 */
export async function explorerMenu(page: Page, item: string, menuItem: string): Promise<void> {
  const row = page.getByRole('treeitem', { name: item, exact: true });
  const entry = page.getByRole('menuitem', { name: menuItem, exact: true });
  await row.waitFor({ timeout: 60_000 });
  for (let attempt = 0; ; attempt++) {
    await row.click({ button: 'right' });
    const shown = await entry.waitFor({ timeout: 5_000 }).then(() => true, () => false);
    const focused = (await row.getAttribute('class'))?.split(/\s+/).includes('focused') ?? false;
    if (shown && focused) break;
    if (attempt === 5) throw new Error(`"${menuItem}" is not in the explorer context menu of ${item}`);
    await page.keyboard.press('Escape');
    await page.waitForTimeout(500);
  }
  // On a loaded machine a click can land while the menu is still animating in: click until the menu has gone.
  for (let attempt = 0; attempt < 3; attempt++) {
    await entry.click();
    if (await entry.waitFor({ state: 'hidden', timeout: 5_000 }).then(() => true, () => false)) return;
  }
  throw new Error(`the explorer context menu did not take "${menuItem}"`);
}

/** Expands an explorer folder (clicking a collapsed one; an expanded one is left as it is). */
export async function expandFolder(page: Page, name: string): Promise<void> {
  const folder = page.getByRole('treeitem', { name, exact: true });
  await folder.waitFor({ timeout: 60_000 });
  if ((await folder.getAttribute('aria-expanded')) !== 'true') await folder.click();
}

/**
 * Answers VS Code's open dialog. The dialog first lists its starting folder, and when that listing lands it sets
 * the input to the folder, replacing a path typed before; an Enter pressed meanwhile is held until then and accepts
 * the starting folder itself (Token Saliency then got the workspace, not the model folder, and showed no method
 * QuickPick). So nothing is typed before the listing is there. Once the dialog has closed, the next QuickPick
 * reuses the same widget and input: every step is scoped to the widget while it still shows the dialog's title.
 */
export async function answerOpenDialog(page: Page, title: string, path: string, folder = false): Promise<void> {
  const heading = page.locator('.quick-input-widget').getByText(title);
  const dialog = page.locator('.quick-input-widget', { hasText: title });
  await heading.waitFor({ timeout: 60_000 });
  const input = dialog.locator('input').first();
  // The listing's rows are drawn in the same step that resets the input: after them, what is typed stays.
  await dialog.locator('.quick-input-list .monaco-list-row').first().waitFor({ timeout: 60_000 });
  const closed = (timeout: number) => heading.waitFor({ state: 'hidden', timeout }).then(() => true, () => false);
  for (let attempt = 0; attempt < 15; attempt++) {
    if (!(await heading.isVisible())) return;
    await input.fill(path, { timeout: 10_000 });
    // Typing makes the dialog complete the name and focus a matching entry: let that land (longer when loaded).
    await page.waitForTimeout(300 + 100 * attempt);
    const value = await input.inputValue();
    if (!folder) {
      if (value !== path) continue;
      // Enter accepts the list's focused entry when there is one: it must be the file (or none, and the typed
      // path is taken).
      const name = path.split('/').pop()!;
      const focused = dialog.locator('.quick-input-list .monaco-list-row.focused');
      if ((await focused.count()) > 0 && !(await focused.first().innerText()).includes(name)) continue;
      if ((await input.inputValue()) !== path) continue;
      await input.press('Enter');
      if (await closed(10_000)) return;
      continue;
    }
    // A folder: Enter on "path" either picks it, or opens it in the dialog ("path/"), where OK picks it. An OK
    // that lands while the focused entry is still the folder in its parent's listing opens it instead: click OK
    // until the dialog closes (an OK during the dialog's own listing waits for it).
    if (value !== path && value !== `${path}/`) continue;
    if (value === path) await input.press('Enter');
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      if (await closed(2_000)) return;
      if ((await input.inputValue({ timeout: 1_000 }).catch(() => '')) === `${path}/`) {
        await dialog.getByRole('button', { name: 'OK' }).click({ timeout: 2_000 }).catch(() => undefined);
      }
    }
  }
  throw new Error(`the open dialog "${title}" did not take ${path}`);
}

/**
 * Opens the command palette (F1) and enters `command` once the palette's input is there. Typing right after the
 * key could reach whatever had the focus (the editor, replacing its selection): the palette opens asynchronously.
 */
export async function commandPalette(page: Page, command: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  // The palette's own prefix in the input says it is the palette (not another QuickPick still closing).
  await page.waitForFunction(() => {
    const box = (globalThis as unknown as { document: { querySelector(s: string): { value: string; offsetParent: unknown } | null } }).document
      .querySelector('.quick-input-widget .quick-input-box input');
    return box !== null && box.offsetParent !== null && box.value.startsWith('>');
  }, undefined, { timeout: 30_000 });
  await input.fill(`>${command}`);
}

/** The workbench's class for each kind of built-in theme: the webviews follow it. */
export type ThemeKind = 'vs' | 'vs-dark' | 'hc-black';

/** Switches the colour theme through "Preferences: Color Theme" (Ctrl+K Ctrl+T) and waits until the workbench wears it. */
export async function switchTheme(page: Page, theme: string, kind: ThemeKind): Promise<void> {
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+K');
  await page.keyboard.press('Control+T');
  await page.locator('.quick-input-widget input').fill(theme);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: theme }).first().click();
  await page.locator(`.monaco-workbench.${kind}`).waitFor({ timeout: 30_000 });
}
