// The model panel's views in a real VS Code (code-server): Overview, Layers (weight L2, two text metrics, their rank
// agreement, a block's modules, a link to its config key), Tensors (a row's detail with a histogram computed by the
// analysis process); the chosen view and sort survive the panel being hidden and shown; then every view in the
// Light, Dark and High Contrast themes, saved as test-output/ui/views-<view>-<theme>.png for a person to look at.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import { ROOT } from '../harness/codeServer';
import { expandFolder, explorerMenu, openWorkbench, SCREENSHOTS } from '../harness/workbench';

/**
 * Theme ids of VS Code 1.139's built-in themes, with the class the workbench takes when each is applied and the one
 * a webview's body takes (VS Code sends it with the theme's colour variables, so it says the webview wears them).
 */
const THEMES = [
  { name: 'light', id: 'Light 2026', workbenchClass: 'vs', bodyClass: 'vscode-light' },
  { name: 'dark', id: 'Dark 2026', workbenchClass: 'vs-dark', bodyClass: 'vscode-dark' },
  { name: 'high-contrast', id: 'Default High Contrast', workbenchClass: 'hc-black', bodyClass: 'vscode-high-contrast' },
] as const;
const VIEWS = ['Overview', 'Layers', 'Tensors'] as const;

function writeSettings(workspace: string, theme: string): void {
  mkdirSync(join(workspace, '.vscode'), { recursive: true });
  writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({
    'workbench.colorTheme': theme,
    'importanceLens.sampleTextFile': 'text/psalms-23.txt',
  }, null, 2));
}

async function applyTheme(page: Page, workspace: string, theme: (typeof THEMES)[number]): Promise<void> {
  writeSettings(workspace, theme.id);
  const applied = page.locator(`.monaco-workbench.${theme.workbenchClass}`);
  if (await applied.waitFor({ timeout: 10_000 }).then(() => true, () => false)) return;
  // The settings file watcher can be slow to notice: pick the theme in the palette instead.
  await page.keyboard.press('Control+K');
  await page.keyboard.press('Control+T');
  const input = page.locator('.quick-input-widget input');
  await input.fill(theme.id);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: theme.id }).first().click();
  await applied.waitFor({ timeout: 30_000 });
}

test('model panel views: overview, layers with metrics and rank agreement, tensors with a histogram, state kept, in three themes', { timeout: 420_000 }, async (t) => {
  const workspace = mkdtempSync(join(tmpdir(), 'il-views-'));
  cpSync(join(ROOT, 'samples', 'tiny-llama-kjv'), join(workspace, 'tiny-llama-kjv'), { recursive: true });
  cpSync(join(ROOT, 'samples', 'text', 'psalms-23.txt'), join(workspace, 'text', 'psalms-23.txt'));
  writeSettings(workspace, THEMES[0].id);
  const page = await openWorkbench(t, workspace, { viewport: { width: 1500, height: 950 } });
  const webview: FrameLocator = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  const tab = (name: string) => webview.getByRole('tab', { name, exact: true });
  try {
    await expandFolder(page, 'tiny-llama-kjv');
    await explorerMenu(page, 'config.json', 'Analyze Importance');

    // Overview: architecture, parameters by module and dtype, the device (none yet).
    await webview.locator('.arch-grid').first().waitFor({ timeout: 60_000 });
    assert.equal(await tab('Overview').getAttribute('aria-selected'), 'true');
    assert.match(await webview.locator('#modules-title').innerText(), /Parameters by module/);
    assert.match(await webview.locator('section[aria-labelledby="dtypes-title"]').innerText(), /F32[\s\S]*100\.0%/);

    // Layers: weight statistics, then two metrics on the sample text; each becomes the metric shown.
    await tab('Layers').click();
    await webview.getByRole('button', { name: 'Compute weight statistics' }).click();
    await webview.locator('.stats-summary').waitFor({ timeout: 60_000 });
    const section = webview.locator('section.layers-on-text');
    await section.getByRole('button', { name: 'Compute' }).click();
    await section.locator('.metric-definition', { hasText: 'Block Influence' }).waitFor({ timeout: 60_000 });
    await section.locator('vscode-dropdown.layer-metric').click();
    await section.locator('vscode-option', { hasText: 'Ablation Δ perplexity' }).click();
    await section.getByRole('button', { name: 'Compute' }).click();
    await section.locator('.metric-definition', { hasText: 'Δ perplexity' }).waitFor({ timeout: 60_000 });
    // Three metrics rank the 4 blocks: three pairs in the agreement strip, each with ρ.
    assert.equal(await webview.locator('.rank-strip .rho').count(), 3);
    assert.match(await webview.locator('.rank-strip').innerText(), /Weight L2 ↔ Block Influence\s*-?[01]\.\d\d/);
    assert.equal(await webview.locator('.layer-row').count(), 4);
    // Sorted by score, rank 1 first; the exact score is in the row's tooltip.
    await webview.getByRole('button', { name: 'Score' }).click();
    assert.match(await webview.locator('.layer-row').first().innerText(), /· #1/);
    assert.match(await webview.locator('.layer-row').first().getAttribute('title') ?? '', /Ablation Δ perplexity: [-\d.e]+ \(score [\d.e+]+\) · rank 1 of 4/);
    // A block opens into its modules; its tensors link to their rows, the block to its config key.
    const toggle = webview.locator('.layer-toggle').nth(1);
    await toggle.focus();
    await page.keyboard.press('Enter');
    await webview.locator('.layer-detail table.modules').waitFor();
    assert.equal(await webview.locator('.layer-toggle[aria-expanded="true"]').count(), 1);
    assert.equal(await webview.locator('.layer-detail table.modules tbody tr').count(), 8, 'norm (both norms), q, k, v, o, gate, up, down');

    // Hidden and shown again (another editor in front, then the panel): the Layers view, sorted by score, comes back.
    await page.getByRole('treeitem', { name: 'config.json', exact: true }).dblclick();
    await page.locator('.tab.active[aria-label^="config.json"]').waitFor();
    await page.locator('.tab', { hasText: 'Importance: config.json' }).click();
    await tab('Layers').and(webview.locator('[aria-selected="true"]')).waitFor({ timeout: 30_000 });
    await webview.locator('.layer-row').nth(3).waitFor({ timeout: 30_000 });
    assert.equal(await webview.locator('vscode-button.layer-sort[aria-pressed="true"]').innerText(), 'Score');
    assert.equal(await webview.locator('.rank-strip .rho').count(), 3, 'the metrics came back with the state');

    // The block's source: config.json opens with num_hidden_layers selected (19 characters with its quotes, cursor after).
    await webview.locator('.layer-source .config-key-link').click();
    await page.locator('.statusbar-item', { hasText: /Ln 8, Col 22 \(19 selected\)/ }).waitFor({ timeout: 30_000 });
    await page.locator('.tab', { hasText: 'Importance: config.json' }).click();

    // Tensors: a row opens its detail, with a histogram of its values from the analysis process.
    await tab('Tensors').click();
    await webview.locator('vscode-text-field.filter input').fill('layers.2.mlp.down');
    await webview.locator('table.tensors tr.tensor').nth(1).waitFor({ state: 'detached' });
    await webview.locator('table.tensors tr.tensor .tensor-open').first().click();
    await webview.locator('svg.histogram rect.bar').nth(63).waitFor({ timeout: 60_000 });
    assert.match(await webview.locator('.histogram-figure figcaption').innerText(), /64 equal-width bins · 45\.1 K values/);
    assert.match(await webview.locator('.detail-stats').innerText(), /kurtosis/);
    await webview.locator('vscode-text-field.filter input').fill('');
    await webview.locator('table.tensors tr.tensor').nth(38).waitFor();
    // The detail links back to its row: scrolled into the box, selected.
    await webview.getByRole('link', { name: 'Show its row in the table' }).click();
    await webview.locator('table.tensors tr.tensor.selected', { hasText: 'model.layers.2.mlp.down_proj.weight' }).waitFor();
    assert.equal(await webview.locator('table.tensors tr.tensor.selected').getAttribute('aria-selected'), 'true');

    // For the pictures: Block Influence, the top-ranked block opened into its modules.
    await tab('Layers').click();
    await webview.locator('vscode-dropdown.layer-view-metric').click();
    await webview.locator('vscode-dropdown.layer-view-metric vscode-option', { hasText: 'Block Influence' }).click();
    await webview.locator('.series-note', { hasText: 'Block Influence = 1 − mean' }).waitFor();
    await webview.locator('.layer-toggle').first().click();
    await webview.locator('.layer-detail table.modules').waitFor();

    for (const theme of THEMES) {
      await applyTheme(page, workspace, theme);
      // Was a 500 ms sleep: the webview wears the theme once its body has the theme's class.
      await webview.locator(`body.${theme.bodyClass}`).waitFor({ timeout: 30_000 });
      for (const view of VIEWS) {
        await tab(view).click();
        // Was a 300 ms sleep: the view is drawn when its tab is the selected one.
        await tab(view).and(webview.locator('[aria-selected="true"]')).waitFor();
        await page.screenshot({ path: join(SCREENSHOTS, `views-${view.toLowerCase()}-${theme.name}.png`) });
      }
    }
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'views-last.png') });
  }
});
