// A user's path through the real UI: right-click a checkpoint in the explorer -> "Analyze Importance" -> the panel
// lists its tensors; Token Saliency on an editor selection; layer importance on text. Leaves screenshots in
// test-output/ui/ for a person to look at.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../harness/codeServer';
import { answerOpenDialog, commandPalette, expandFolder, explorerMenu, openWorkbench, SCREENSHOTS, switchTheme } from '../harness/workbench';


test('explorer right-click -> Analyze Importance shows the tensor table in the panel', { timeout: 240_000 }, async (t) => {
  const workspace = mkdtempSync(join(tmpdir(), 'il-ui-'));
  cpSync(join(ROOT, 'samples', 'tiny-llama-random'), join(workspace, 'tiny-llama-random'), { recursive: true });
  const page = await openWorkbench(t, workspace, { viewport: { width: 1400, height: 900 } });
  try {

    await expandFolder(page, 'tiny-llama-random');
    await explorerMenu(page, 'model.safetensors', 'Analyze Importance');

    const webview = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    // The panel opens on its Overview; the tensor table is behind the Tensors tab.
    await webview.locator('.arch-grid').first().waitFor({ timeout: 60_000 });
    assert.equal(await webview.locator('h1').textContent(), 'model.safetensors');
    const grid = await webview.locator('.arch-grid').first().innerText();
    assert.match(grid, /family\s+llama/);
    assert.match(grid, /KV heads\s+2/);
    assert.equal(await page.locator('.tab.active').getAttribute('aria-label').then((l) => l?.startsWith('Importance: model.safetensors')), true);
    await webview.getByRole('tab', { name: 'Tensors' }).click();
    await webview.locator('table.tensors tr.tensor').nth(38).waitFor();
    assert.equal(await webview.locator('table.tensors tr.tensor').count(), 39);

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

  // Weight statistics on demand, from the Layers view: its bars switch to weight L2, the tensor table gains columns.
  const webview = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  try {
    await webview.getByRole('tab', { name: 'Layers' }).click();
    await webview.getByRole('button', { name: 'Compute weight statistics' }).click();
    await webview.locator('.stats-summary', { hasText: '39 tensors' }).waitFor({ timeout: 60_000 });
    assert.match(await webview.locator('.series-note').innerText(), /^Weight L2 = Frobenius norm/);
    assert.equal(await webview.locator('.layer-row').count(), 4);
    await webview.getByRole('tab', { name: 'Tensors' }).click();
    await webview.locator('table.tensors th', { hasText: 'Kurtosis' }).waitFor();
    assert.equal(await webview.locator('table.tensors tr.tensor').count(), 39, 'the tensor table is still there');
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'analyze-importance-stats.png') });
  }
});

test('explorer right-click -> Compare With Base Checkpoint, base picked in the dialog, shows the delta panel', { timeout: 240_000 }, async (t) => {
  const workspace = mkdtempSync(join(tmpdir(), 'il-ui-'));
  for (const name of ['base.safetensors', 'tuned.safetensors']) cpSync(join(ROOT, 'test', 'fixtures', 'delta', name), join(workspace, 'delta', name));
  const page = await openWorkbench(t, workspace, { viewport: { width: 1400, height: 900 } });
  try {
    await expandFolder(page, 'delta');
    await explorerMenu(page, 'tuned.safetensors', 'Compare With Base Checkpoint');
    // VS Code's own open dialog (the simple file dialog in a browser): its title names the tuned checkpoint.
    await answerOpenDialog(page, 'Pick the base checkpoint to compare tuned.safetensors with', join(workspace, 'delta', 'base.safetensors'));

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

/** The psalm one clause a line, so a line is a natural selection. */
function writePsalm(workspace: string): void {
  const text = readFileSync(join(ROOT, 'samples', 'text', 'psalms-23.txt'), 'utf8').trim();
  mkdirSync(join(workspace, 'text'), { recursive: true });
  writeFileSync(join(workspace, 'text', 'psalm.txt'), `${text.replace(/([.:]) /g, '$1\n')}\n`);
}

test('Token Saliency on an editor selection: model picked in the dialog, method in the QuickPick, decorations and the panel', { timeout: 240_000 }, async (t) => {
  const workspace = mkdtempSync(join(tmpdir(), 'il-ui-'));
  cpSync(join(ROOT, 'samples', 'tiny-llama-kjv'), join(workspace, 'tiny-llama-kjv'), { recursive: true });
  writePsalm(workspace);
  const page = await openWorkbench(t, workspace, { viewport: { width: 1600, height: 900 } });
  try {
    await expandFolder(page, 'text');
    await page.getByRole('treeitem', { name: 'psalm.txt' }).dblclick();
    const editor = page.locator('.editor-instance .monaco-editor').first();
    await editor.locator('.view-line').first().waitFor();
    // Select the first three lines but the final full stop: "The LORD ... want.\n ... beside the still waters".
    await editor.locator('.view-line').first().click();
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('Shift+ArrowDown');
    await page.keyboard.press('Shift+ArrowDown');
    await page.keyboard.press('Shift+End');
    await page.keyboard.press('Shift+ArrowLeft');

    await commandPalette(page, 'Importance Lens: Token Saliency');
    // "Clear Token Saliency" matches too: click the command itself.
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Token Saliency', hasNotText: 'Clear' }).first().click();
    // No model remembered yet: VS Code's open dialog asks for the folder.
    await answerOpenDialog(page, 'Pick the model folder for Token Saliency', join(workspace, 'tiny-llama-kjv'), true);
    // Then the method, with the model to change below the methods. Should the extension refuse the folder
    // instead (an error notification), the test says so at once rather than waiting for a QuickPick that won't come.
    const methods = page.locator('.quick-input-widget', { hasText: 'Token Saliency: method' });
    const complaint = page.locator('.notification-toast', { hasText: 'Importance Lens:' });
    await methods.or(complaint).first().waitFor({ timeout: 30_000 });
    assert.deepEqual(await complaint.allInnerTexts(), [], 'no error from the extension');
    await methods.getByText('Pick another model…').waitFor();
    await methods.locator('.quick-input-list .monaco-list-row', { hasText: 'ReAGent' }).click();

    const webview = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await webview.locator('.saliency-text .tok').first().waitFor({ timeout: 60_000 });
    const tokens = await webview.locator('.saliency-text .tok').count();
    assert.ok(tokens > 10, `${tokens} tokens shown`);
    assert.match(await webview.locator('.totals').innerText(), /method\s+ReAGent[\s\S]*seeds\s+5/);
    assert.equal(await webview.locator('.saliency-legend .swatch').count(), 7);
    assert.equal(await webview.locator('table.saliency-top tr.row').count(), 10);
    assert.match(await webview.locator('.saliency-text').innerText(), /^The LORD is my shepherd; I shall not want\.\nHe maketh me to lie down in green pastures:\nhe leadeth me beside the still waters$/);

    // The editor carries the same colours: decorations (drawn as overlays behind the text) on the selected lines.
    const decorated = editor.locator('.view-overlays [class*="ced-"]');
    await decorated.first().waitFor();
    const coloured = webview.locator('.saliency-text .tok[class*=" s"]');
    assert.ok(await coloured.count() > 0, 'tokens are coloured in the panel');
    // The page's own getComputedStyle (the test build has no DOM types).
    const background = await coloured.first().evaluate((e) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(e).backgroundColor);
    assert.match(background, /^rgba?\(/);
    assert.notEqual(background, 'rgba(0, 0, 0, 0)');

    // A token in the panel shows its range in the editor: the status bar reports the selection.
    await webview.locator('.saliency-text .tok', { hasText: 'LORD' }).first().click();
    await page.locator('.statusbar-item', { hasText: /Ln 1, Col \d+ \(\d+ selected\)/ }).waitFor();
    // Hovering a decorated token in the editor tells its score ± sd, the method and the seeds (the target's
    // outline, also decorated, tells the target instead: try the next one).
    const hover = page.locator('.monaco-hover', { hasText: '±' }).first();
    let shown = false;
    for (let i = 0; !shown && i < Math.min(5, await decorated.count()); i++) {
      const box = await decorated.nth(i).boundingBox();
      if (!box) continue;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      // A hover on a loaded machine can take seconds to be asked for and drawn.
      shown = await hover.waitFor({ timeout: 10_000 }).then(() => true, () => false);
      if (!shown) await page.mouse.move(5, 400);
    }
    assert.ok(shown, 'no score hover (±) on the first decorated tokens of the editor');
    assert.match(await hover.innerText(), /[+-]?[\d.e-]+ ± [\d.e-]+ \(ReAGent, 5 seeds\)/);
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'token-saliency.png') });
  }

  // The same panel and decorations in a dark theme, for a person to look at.
  await page.mouse.move(5, 400);
  await switchTheme(page, 'Dark 2026', 'vs-dark');
  await page.frameLocator('iframe.webview.ready').frameLocator('#active-frame').locator('body.vscode-dark .saliency-text .tok').first().waitFor({ timeout: 30_000 });
  await page.screenshot({ path: join(SCREENSHOTS, 'token-saliency-dark.png') });
});

test('Analyze Importance on a model folder -> layer importance on text, text picked in the dialog and remembered', { timeout: 240_000 }, async (t) => {
  const workspace = mkdtempSync(join(tmpdir(), 'il-ui-'));
  cpSync(join(ROOT, 'samples', 'tiny-llama-kjv'), join(workspace, 'tiny-llama-kjv'), { recursive: true });
  cpSync(join(ROOT, 'samples', 'text', 'psalms-23.txt'), join(workspace, 'text', 'psalms-23.txt'));
  const page = await openWorkbench(t, workspace, { viewport: { width: 1400, height: 900 } });
  try {
    await expandFolder(page, 'tiny-llama-kjv');
    await explorerMenu(page, 'config.json', 'Analyze Importance');
    const webview = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await webview.getByRole('tab', { name: 'Layers' }).click({ timeout: 60_000 });
    const section = webview.locator('section.layers-on-text');
    const bars = webview.locator('.layer-rows');
    await section.getByRole('button', { name: 'Compute' }).click({ timeout: 60_000 });
    // importanceLens.sampleTextFile is empty: the open dialog asks for a text; the section then offers to keep it.
    await answerOpenDialog(page, 'Pick a text file to run the model on', join(workspace, 'text', 'psalms-23.txt'));

    await section.locator('.metric-definition').waitFor({ timeout: 60_000 });
    assert.match(await section.locator('.metric-definition').innerText(), /^Block Influence = 1 − mean/);
    assert.match(await section.innerText(), /device \S+ · \d+ tokens in \d+ windows? · rank 1 = most important/);
    assert.match(await section.locator('.perplexity').innerText(), /perplexity\s+[\d.]+/);
    assert.match(await bars.textContent() ?? '', /· #1/);
    await section.getByRole('button', { name: 'Remember psalms-23.txt as the sample text' }).click();
    await section.getByText('Kept as importanceLens.sampleTextFile').waitFor();

    // Another metric runs on the remembered text with no dialog: ablation, bars as the rise in perplexity.
    await section.locator('vscode-dropdown.layer-metric').click();
    await section.locator('vscode-option', { hasText: 'Ablation Δ perplexity' }).click();
    await section.getByRole('button', { name: 'Compute' }).click();
    await section.locator('.metric-definition', { hasText: 'Δ perplexity = perplexity with the block skipped' }).waitFor({ timeout: 60_000 });
    assert.match(await bars.textContent() ?? '', /[+-][\d.]+ · #1/);
    assert.match(await section.innerText(), /Layer importance on text on psalms-23\.txt/);
    // Two metrics now rank the blocks: the rank-agreement strip compares them.
    assert.match(await webview.locator('.rank-strip').innerText(), /Block Influence ↔ Ablation Δ perplexity\s*-?[\d.]+/);
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'layer-importance-text.png') });
  }
});
