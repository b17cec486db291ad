// A user's path through the real UI: right-click a checkpoint in the explorer -> "Analyze Importance" -> the panel
// lists its tensors. Leaves a screenshot in test-output/ui/ for a person to look at.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { launchBrowser, ROOT, startCodeServer } from '../e2e/codeServer';

const SCREENSHOTS = join(ROOT, 'test-output', 'ui');

test('explorer right-click -> Analyze Importance shows the tensor table in the panel', { timeout: 240_000 }, async (t) => {
  const workspace = mkdtempSync(join(tmpdir(), 'il-ui-'));
  cpSync(join(ROOT, 'samples', 'tiny-llama-random'), join(workspace, 'tiny-llama-random'), { recursive: true });
  const server = await startCodeServer();
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    await server.stop();
    rmSync(workspace, { recursive: true, force: true });
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    await page.goto(server.url(workspace, [['extensionDevelopmentPath', server.remote(ROOT)], ['skipWelcome', 'true']]));

    const folder = page.getByRole('treeitem', { name: 'tiny-llama-random' });
    await folder.waitFor({ timeout: 60_000 });
    await folder.click();
    const checkpoint = page.getByRole('treeitem', { name: 'model.safetensors' });
    await checkpoint.click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Analyze Importance' }).click();

    const webview = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await webview.locator('table.tensors tr.tensor').nth(38).waitFor({ timeout: 60_000 });
    assert.equal(await webview.locator('table.tensors tr.tensor').count(), 39);
    assert.equal(await webview.locator('h1').textContent(), 'model.safetensors');
    const grid = await webview.locator('.arch-grid').innerText();
    assert.match(grid, /family\s+llama/);
    assert.match(grid, /KV heads\s+2/);
    assert.equal(await page.locator('.tab.active').getAttribute('aria-label').then((l) => l?.startsWith('Importance: model.safetensors')), true);

    // Grouped by layer: the tensors outside blocks, then one group per block; collapsing one hides its 9 rows.
    assert.deepEqual(await webview.locator('tr.group .group-toggle').allTextContents(), ['▾ Outside blocks', '▾ Layer 0', '▾ Layer 1', '▾ Layer 2', '▾ Layer 3']);
    await webview.getByRole('button', { name: '▾ Layer 2' }).click();
    await webview.locator('table.tensors tr.tensor').nth(30).waitFor({ state: 'detached' });
    assert.equal(await webview.locator('table.tensors tr.tensor').count(), 30);
    await webview.getByRole('button', { name: '▸ Layer 2' }).click();

    // Filtering narrows the table: only the 4 query projections.
    await webview.locator('vscode-text-field.filter input').fill('q_proj');
    await webview.locator('table.tensors tr.tensor').nth(4).waitFor({ state: 'detached' });
    assert.equal(await webview.locator('table.tensors tr.tensor').count(), 4);
    await webview.locator('vscode-text-field.filter input').fill('');
    await webview.locator('table.tensors tr.tensor').nth(38).waitFor();
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'analyze-importance-panel.png') });
  }
});
