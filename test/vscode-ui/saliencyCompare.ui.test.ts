// Token Saliency across checkpoints in a real VS Code (code-server): Token Saliency on a selection with tiny-qwen2,
// then the panel's "Compare across checkpoints…", two seeded "fine-tunes" picked in VS Code's open dialog (one, then
// "Add another checkpoint…"), and the panel shows the means over the three checkpoints, |mean|/sd per token and the
// 3 × 3 rank-agreement matrix. Leaves screenshots in test-output/ui/ for a person to look at.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../harness/codeServer';
import { answerOpenDialog, commandPalette, expandFolder, openWorkbench, SCREENSHOTS, switchTheme } from '../harness/workbench';

test('Token Saliency → Compare across checkpoints: two checkpoints from the open dialog, means ± sd, |mean|/sd and the agreement matrix', { timeout: 300_000 }, async (t) => {
  const workspace = mkdtempSync(join(tmpdir(), 'il-ui-'));
  cpSync(join(ROOT, 'test/fixtures/models/tiny-qwen2-bf16'), join(workspace, 'base'), { recursive: true });
  cpSync(join(ROOT, 'test/fixtures/stability/tiny-qwen2-ft1'), join(workspace, 'seed-1'), { recursive: true });
  cpSync(join(ROOT, 'test/fixtures/stability/tiny-qwen2-ft2'), join(workspace, 'seed-2'), { recursive: true });
  mkdirSync(join(workspace, 'text'));
  writeFileSync(join(workspace, 'text', 'psalm.txt'), 'The LORD is my shepherd; I shall not want\n');
  const page = await openWorkbench(t, workspace, { viewport: { width: 1600, height: 1000 } });
  const webview = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  const complaint = page.locator('.notification-toast', { hasText: 'Importance Lens:' });
  try {
    await expandFolder(page, 'text');
    await page.getByRole('treeitem', { name: 'psalm.txt' }).dblclick();
    const editor = page.locator('.editor-instance .monaco-editor').first();
    await editor.locator('.view-line').first().waitFor();
    await editor.locator('.view-line').first().click();
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('Shift+End');

    await commandPalette(page, 'Importance Lens: Token Saliency');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Token Saliency', hasNotText: /Clear|Across/ }).first().click();
    await answerOpenDialog(page, 'Pick the model folder for Token Saliency', join(workspace, 'base'), true);
    const methods = page.locator('.quick-input-widget', { hasText: 'Token Saliency: method' });
    await methods.or(complaint).first().waitFor({ timeout: 30_000 });
    assert.deepEqual(await complaint.allInnerTexts(), [], 'no error from the extension');
    await methods.locator('.quick-input-list .monaco-list-row', { hasText: 'Gradient × input' }).click();
    await webview.locator('.saliency-text .tok').first().waitFor({ timeout: 60_000 });
    const tokens = await webview.locator('.saliency-text .tok').count();

    // The panel's button: the open dialog takes one checkpoint, then "Add another checkpoint…" opens it again.
    await webview.locator('vscode-button.compare-checkpoints').click();
    await answerOpenDialog(page, 'Pick checkpoints to compare with', join(workspace, 'seed-1'), true);
    const next = page.locator('.quick-input-widget', { hasText: 'Token Saliency across checkpoints' });
    await next.or(complaint).first().waitFor({ timeout: 30_000 });
    assert.deepEqual(await complaint.allInnerTexts(), [], 'no error from the extension');
    await next.locator('.quick-input-list .monaco-list-row', { hasText: 'Add another checkpoint…' }).click();
    await answerOpenDialog(page, 'Pick checkpoints to compare with', join(workspace, 'seed-2'), true);
    await next.locator('.quick-input-list .monaco-list-row', { hasText: 'Compare 3 checkpoints' }).click();

    const matrix = webview.locator('.agreement-matrix table');
    await matrix.or(complaint).first().waitFor({ timeout: 120_000 });
    assert.deepEqual(await complaint.allInnerTexts(), [], 'no error from the extension');
    assert.match(await webview.locator('.totals').innerText(), /checkpoints\s+3[\s\S]*rank agreement\s+ρ [-0-9.]+/);
    assert.equal(await matrix.locator('tbody tr').count(), 3);
    assert.equal(await matrix.locator('td.agreement').count(), 6, 'Spearman above the diagonal, Kendall below');
    for (const cell of await matrix.locator('td.agreement').allInnerTexts()) assert.match(cell, /^-?[01]\.\d\d$/);
    assert.deepEqual(await webview.locator('.stability ul.checkpoints li').allInnerTexts().then((l) => l.map((s) => s.split(' ·')[0])), ['#1 base', '#2 seed-1', '#3 seed-2']);
    // One row per token: mean ± sd, |mean|/sd and the three checkpoints' scores.
    const rows = webview.locator('table.stability-tokens tbody tr');
    assert.equal(await rows.count(), tokens);
    assert.equal(await rows.first().locator('td').count(), 6);
    assert.match(await rows.first().locator('td').nth(1).innerText(), /±/);
    // The text shows the means; hovering tells the spread over the checkpoints.
    assert.match(await webview.locator('.saliency-text .tok').first().getAttribute('title') ?? '', /^mean [-+0-9.e]+ ± [0-9.e-]+ over 3 checkpoints, \|mean\|\/sd /);
    assert.match(await webview.locator('.saliency-top th').nth(2).innerText(), /Mean ± sd/);
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'token-saliency-compare.png'), fullPage: true });
  }
  await switchTheme(page, 'Dark 2026', 'vs-dark');
  await webview.locator('body.vscode-dark .agreement-matrix').waitFor({ timeout: 30_000 });
  await page.screenshot({ path: join(SCREENSHOTS, 'token-saliency-compare-dark.png') });
});
