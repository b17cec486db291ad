// Steps through VS Code's workbench UI that several UI tests take: the explorer's context menu and VS Code's own
// open dialog (the simple file dialog of a browser workbench). Both race with the workbench's asynchronous
// drawing, so each step checks that it took before going on.
import type { Page } from 'playwright-core';

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
  await entry.click();
}

/** Expands an explorer folder (clicking a collapsed one; an expanded one is left as it is). */
export async function expandFolder(page: Page, name: string): Promise<void> {
  const folder = page.getByRole('treeitem', { name, exact: true });
  await folder.waitFor({ timeout: 60_000 });
  if ((await folder.getAttribute('aria-expanded')) !== 'true') await folder.click();
}

/**
 * Answers VS Code's open dialog. The dialog fills in its starting folder asynchronously, which can overwrite a
 * path typed too early (and Enter then picks the folder): type until the path stays, then accept.
 */
export async function answerOpenDialog(page: Page, title: string, path: string, folder = false): Promise<void> {
  const dialog = page.locator('.quick-input-widget');
  const heading = dialog.getByText(title);
  await heading.waitFor({ timeout: 60_000 });
  const input = dialog.locator('input').first();
  for (let attempt = 0; attempt < 10; attempt++) {
    await input.fill(path);
    await page.waitForTimeout(300);
    const value = await input.inputValue();
    if (!folder) {
      if (value !== path) continue;
      await input.press('Enter');
      if (await heading.waitFor({ state: 'hidden', timeout: 3_000 }).then(() => true, () => false)) return;
      continue;
    }
    // A folder: the dialog may complete it to "path/". Enter on "path" either picks it or opens it in the
    // dialog, where OK then picks it.
    if (value !== path && value !== `${path}/`) continue;
    if (value === path) await input.press('Enter');
    for (const deadline = Date.now() + 5_000; Date.now() < deadline; await page.waitForTimeout(100)) {
      if (!(await heading.isVisible())) return;
      if ((await input.inputValue()) === `${path}/`) {
        await dialog.getByRole('button', { name: 'OK' }).click();
        return;
      }
    }
  }
  throw new Error(`the open dialog "${title}" did not take ${path}`);
}
