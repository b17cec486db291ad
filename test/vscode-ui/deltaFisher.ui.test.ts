// A user's path through the real UI to a Fisher-weighted comparison: right-click a fine-tune's folder -> Compare
// With Base Checkpoint -> the base picked in VS Code's open dialog -> "Weight by Fisher on a text…" -> a text picked
// in the dialog -> the totals gain Σ F·Δ² and the layer bars a third length; while those bars show, the layer
// section's subtitle names Σ F·Δ². Leaves screenshots (delta-fisher-bars.png, delta-fisher-panel.png) for a person.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../harness/codeServer';
import { answerOpenDialog, explorerMenu, openWorkbench, SCREENSHOTS } from '../harness/workbench';

test('Compare With Base Checkpoint -> Weight by Fisher on a text: Σ F·Δ² in the totals, the tensor table and the layer bars', { timeout: 300_000 }, async (t) => {
  const workspace = mkdtempSync(join(tmpdir(), 'il-ui-'));
  // The BF16 fine-tune of tiny-qwen2 the Fisher reference uses (test/fixtures/autodiff), and its base.
  cpSync(join(ROOT, 'test', 'fixtures', 'models', 'tiny-qwen2'), join(workspace, 'base'), { recursive: true });
  cpSync(join(ROOT, 'test', 'fixtures', 'autodiff', 'tiny-qwen2-tuned'), join(workspace, 'tuned'), { recursive: true });
  // Two verses: the Fisher is one backward pass per token, and a loaded test machine should not wait on a long text.
  writeFileSync(join(workspace, 'psalm.txt'), readFileSync(join(ROOT, 'samples', 'text', 'psalms-23.txt'), 'utf8').split('.').slice(0, 2).join('.') + '.\n');
  const page = await openWorkbench(t, workspace, { viewport: { width: 1400, height: 1000 } });
  try {
    await explorerMenu(page, 'tuned', 'Compare With Base Checkpoint');
    await answerOpenDialog(page, 'Pick the base checkpoint to compare tuned with', join(workspace, 'base'), true);

    const webview = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await webview.locator('table.delta-tensors tr.row').first().waitFor({ timeout: 60_000 });
    // Before any text: two bar lengths, no Fisher figures.
    assert.equal(await webview.locator('vscode-button.metric-choice').count(), 2);
    assert.doesNotMatch(await webview.locator('.totals').innerText(), /Σ F·Δ²/);
    // The layer section's subtitle says what its bars rank (ASCII locator text: hasText did not match "Σ F·Δ²").
    const subtitle = webview.locator('#delta-layers-title .subtitle');
    assert.equal(await subtitle.innerText(), 'rank 1 = changed most (by ‖Δ‖)');

    await webview.getByText('Weight by Fisher on a text…').click();
    await answerOpenDialog(page, 'Pick a text: base\'s Fisher on it weighs each change', join(workspace, 'psalm.txt'));
    await webview.locator('.totals dt', { hasText: 'Fisher text' }).waitFor({ timeout: 180_000 });
    assert.match(await webview.locator('.totals').innerText(), /Σ F·Δ²\s+[\d.e-]+[\s\S]*Fisher text\s+\d+ tokens predicted/);
    assert.match(await webview.locator('table.delta-tensors thead').innerText(), /Σ F·Δ²\s+F share/);
    // The third bar length: the Fisher-weighted change per layer, with ranks.
    const choices = webview.locator('vscode-button.metric-choice');
    assert.equal(await choices.count(), 3);
    await choices.nth(2).click();
    // The third choice pressed (the first pressed button would match the ‖Δ‖/‖W‖ one still there before the click).
    await webview.locator('vscode-button.metric-choice:nth-child(3)[aria-pressed="true"]').waitFor();
    assert.match(await webview.locator('svg.bars').first().textContent() ?? '', /#1/);
    // The subtitle follows the bars: it now describes the Fisher-weighted change, not the plain delta.
    await webview.locator('#delta-layers-title .subtitle', { hasText: 'Fisher-weighted change' }).waitFor();
    assert.match(await subtitle.innerText(), /^Fisher-weighted change Σ F·Δ²: .*rank 1 = largest Σ F·Δ²$/);
    assert.doesNotMatch(await subtitle.innerText(), /by ‖Δ‖/);
    await page.screenshot({ path: join(SCREENSHOTS, 'delta-fisher-bars.png') });
    // Back to ‖Δ‖/‖W‖: the subtitle is the plain delta's again.
    await choices.nth(0).click();
    await webview.locator('vscode-button.metric-choice:nth-child(1)[aria-pressed="true"]').waitFor();
    assert.equal(await subtitle.innerText(), 'rank 1 = changed most (by ‖Δ‖)');
    // The button now offers another text.
    await webview.getByText('Weight by Fisher on another text…').waitFor();
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'delta-fisher-panel.png') });
  }
});
