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

  // Weight statistics on demand: the summary stays, the section below the bars fills in.
  const webview = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  try {
    await webview.getByRole('button', { name: 'Compute weight statistics' }).click();
    await webview.locator('table.stats-tensors tr.row').nth(38).waitFor({ timeout: 60_000 });
    assert.equal(await webview.locator('table.stats-tensors tr.row').count(), 39);
    assert.equal(await webview.locator('table.tensors tr.tensor').count(), 39, 'the summary\'s tensor table is still there');
    assert.match(await webview.locator('.layer-l2').innerText(), /Weight L2 per layer/);
    await webview.locator('#stats-title').scrollIntoViewIfNeeded();
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'analyze-importance-stats.png') });
  }
});

test('explorer right-click -> Compare With Base Checkpoint, base picked in the dialog, shows the delta panel', { timeout: 240_000 }, async (t) => {
  const workspace = mkdtempSync(join(tmpdir(), 'il-ui-'));
  for (const name of ['base.safetensors', 'tuned.safetensors']) cpSync(join(ROOT, 'test', 'fixtures', 'delta', name), join(workspace, 'delta', name));
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
    const folder = page.getByRole('treeitem', { name: 'delta' });
    await folder.waitFor({ timeout: 60_000 });
    await folder.click();
    await page.getByRole('treeitem', { name: 'tuned.safetensors' }).click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Compare With Base Checkpoint' }).click();

    // VS Code's own open dialog (the simple file dialog in a browser): its title names the tuned checkpoint.
    const dialog = page.locator('.quick-input-widget');
    await dialog.getByText('Pick the base checkpoint to compare tuned.safetensors with').waitFor({ timeout: 30_000 });
    const input = dialog.locator('input').first();
    await input.fill(join(workspace, 'delta', 'base.safetensors'));
    await input.press('Enter');

    const webview = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await webview.locator('table.delta-tensors tr.row').nth(4).waitFor({ timeout: 60_000 });
    assert.equal(await webview.locator('table.delta-tensors tr.row').count(), 5);
    assert.equal(await webview.locator('table.mismatched tr.row').count(), 3);
    assert.match(await webview.locator('.totals').innerText(), /tensors compared\s+5/);
    assert.equal(await page.locator('.tab.active').getAttribute('aria-label').then((l) => l?.startsWith('Delta: tuned.safetensors vs base.safetensors')), true);
    // Sorted by ‖Δ‖/‖W‖, largest first: layer 1's q_proj moved most.
    assert.equal(await webview.locator('table.delta-tensors tr.row td').first().textContent(), 'model.layers.1.self_attn.q_proj.weight');
    // The layer bars switch between ‖Δ‖/‖W‖ and ‖Δ‖ (layer 1: 37.9%, ‖Δ‖ 0.7261), with the rank after the value.
    assert.match(await webview.locator('svg.bars').textContent() ?? '', /37\.9% · #1/);
    await webview.locator('vscode-button.metric-choice').nth(1).click();
    await webview.locator('svg.bars', { hasText: '0.7261 · #1' }).waitFor();
    await webview.locator('vscode-button.metric-choice').nth(0).click();
    await webview.locator('svg.bars', { hasText: '37.9% · #1' }).waitFor();
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'compare-with-base-panel.png') });
  }
});
