// "Analyze CSV Importance" through the real UI, on real CSVs we did not write: scikit-learn's wine data (column
// importance vs the cultivar) and GDAL's S-57 object classes (row importance of a free-text column). Leaves
// screenshots in test-output/ui/ for a person to look at.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { ROOT } from '../harness/codeServer';
import { answerOpenDialog, expandFolder, explorerMenu, openWorkbench, SCREENSHOTS, switchTheme } from '../harness/workbench';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'csv');

/** Picks the first QuickPick entry that shows `text` once the QuickPick titled `title` is up. */
async function quickPick(page: Page, title: string | RegExp, text: string): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  await widget.locator('.quick-input-title', { hasText: title }).waitFor({ timeout: 60_000 });
  await widget.locator('.monaco-list-row', { hasText: text }).first().click();
}

test('explorer right-click -> Analyze CSV Importance on wine.csv, target picked from the header', { timeout: 240_000 }, async (t) => {
  const workspace = mkdtempSync(join(tmpdir(), 'il-ui-csv-'));
  cpSync(join(FIXTURES, 'wine.csv'), join(workspace, 'data', 'wine.csv'));
  // Tall enough for the screenshot to show both charts and the start of the column table.
  const page = await openWorkbench(t, workspace, { viewport: { width: 1400, height: 1250 } });
  try {
    await expandFolder(page, 'data');
    await explorerMenu(page, 'wine.csv', 'Analyze CSV Importance');
    // The header's columns with their inferred type and missing share; the target, then the model.
    const title = /Analyze CSV Importance: wine\.csv \(178 rows\)/;
    await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ timeout: 60_000 });
    const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'cultivar' });
    assert.match(await row.innerText(), /number · 0% missing · 3 distinct/);
    await quickPick(page, title, 'cultivar');
    await quickPick(page, 'model for permutation importance', 'No model');

    // The Dataset panel: mutual information and permutation bars for the 13 other columns, and the profile table.
    const webview = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await webview.locator('table.dataset-columns tr.row').nth(13).waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('.tab.active').getAttribute('aria-label').then((l) => l?.startsWith('Dataset: wine.csv')), true);
    const charts = webview.locator('.importance-charts svg.bars');
    assert.equal(await charts.count(), 2);
    assert.equal(await charts.nth(0).locator('g').count(), 13);
    assert.match(await charts.nth(0).textContent() ?? '', /flavanoids.*· #1/);
    assert.match(await charts.nth(1).textContent() ?? '', /± [\d.e-]+ · #\d+/);
    assert.match(await webview.locator('.importance-facts').innerText(), /target\s+cultivar[\s\S]*task\s+classification[\s\S]*rank agreement\s+ρ 0\.\d+/);
    // Sorted by importance rank: flavanoids first; the target is marked.
    assert.match(await webview.locator('table.dataset-columns tr.row').first().innerText(), /^flavanoids\s+number\s+0 \(0%\)/);
    assert.match(await webview.locator('table.dataset-columns tr.row', { hasText: 'cultivar' }).innerText(), /cultivar target/);
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'csv-panel.png') });
  }

  // Hover on a header cell of the CSV in the editor: the column's statistics and, the analysis having run, its rank.
  try {
    await page.getByRole('treeitem', { name: 'wine.csv', exact: true }).dblclick();
    const editor = page.locator('.editor-instance .monaco-editor').first();
    const header = editor.locator('.view-line').first();
    await header.waitFor();
    const hover = page.locator('.monaco-hover', { hasText: 'flavanoids' }).first();
    // A pointer hover races with the editor settling (and the CSV language features starting on a busy machine):
    // move onto the word again until the hover shows.
    for (let attempt = 0; ; attempt++) {
      await hoverText(page, header, 'flavanoids');
      if (await hover.waitFor({ timeout: 10_000 }).then(() => true, () => false)) break;
      if (attempt === 3) throw new Error('no hover on the flavanoids header cell');
      await page.mouse.move(5, 400);
    }
    const text = await hover.innerText();
    assert.match(text, /flavanoids — column 7 of 14 · number/);
    assert.match(text, /missing\s+0 of 178 \(0%\)/);
    assert.match(text, /min … max\s+0\.34 … 5\.08/);
    assert.match(text, /mean\s+2\.029/); // numpy: load_wine().data[:, 6].mean() = 2.0293
    assert.match(text, /Importance vs cultivar: rank 1 of 13/);
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'csv-header-hover.png') });
  }

  // The panel takes its colours from the theme: dark and high contrast, for a person to look at.
  await page.mouse.move(5, 400);
  await page.keyboard.press('Escape');
  // switchTheme waits for the theme picker before typing and for the workbench to wear the theme (this loop typed
  // the theme's name while the picker was still opening, and Enter could take the unfiltered list's current theme).
  for (const [theme, kind, name, bodyClass] of [['Dark Modern', 'vs-dark', 'csv-panel-dark.png', 'vscode-dark'], ['Dark High Contrast', 'hc-black', 'csv-panel-high-contrast.png', 'vscode-high-contrast']] as const) {
    await switchTheme(page, theme, kind);
    await page.locator('.tab', { hasText: 'Dataset: wine.csv' }).click();
    const webview = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await webview.locator(`body.${bodyClass}`).waitFor({ timeout: 30_000 });
    await webview.locator('table.dataset-columns tr.row').first().waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, name) });
  }
});

/** Moves the mouse over the middle of `word` in a rendered editor line (monospace: position by character). */
async function hoverText(page: Page, line: Locator, word: string): Promise<void> {
  const text = (await line.textContent())!.replace(/\u00a0/g, ' ');
  const at = text.indexOf(word);
  assert.ok(at >= 0, `${word} in ${text}`);
  const box = (await line.locator('span').first().boundingBox())!;
  const charWidth = box.width / text.length;
  await page.mouse.move(box.x + charWidth * (at + word.length / 2), box.y + box.height / 2);
}

test('Analyze CSV Importance -> row importance (DSIR) of a text column; a row in the panel reveals its line', { timeout: 240_000 }, async (t) => {
  const workspace = mkdtempSync(join(tmpdir(), 'il-ui-csv-'));
  cpSync(join(FIXTURES, 's57objectclasses.csv'), join(workspace, 'charts', 's57objectclasses.csv'));
  writeFileSync(join(workspace, 'charts', 'target.txt'), [
    'a lighthouse light on the coast', 'lateral buoy marking the channel', 'cardinal buoy east of the wreck',
    'a beacon on the pier head', 'light vessel anchored offshore', 'fog signal at the harbour entrance',
  ].join('\n'));
  const page = await openWorkbench(t, workspace);
  try {
    await expandFolder(page, 'charts');
    await explorerMenu(page, 's57objectclasses.csv', 'Analyze CSV Importance');
    await quickPick(page, /Analyze CSV Importance: s57objectclasses\.csv \(286 rows\)/, 'Row importance (DSIR) for a text column…');
    await quickPick(page, 'Row importance (DSIR): the text column', 'ObjectClass');
    await answerOpenDialog(page, "Pick the target sample for 'ObjectClass'", join(workspace, 'charts', 'target.txt'));
    const input = page.locator('.quick-input-widget input').first();
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'resample rows into a new CSV' }).waitFor();
    await input.fill('20');
    await input.press('Enter');

    const webview = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    const highest = webview.locator('table.weighted-rows').first().locator('tr.row');
    await highest.nth(24).waitFor({ timeout: 60_000 });
    assert.match(await webview.locator('.importance-facts').innerText(), /text column\s+ObjectClass[\s\S]*target sample\s+target\.txt[\s\S]*rows weighted\s+286/);
    // The spread of the weights: the bins' row counts add up to the rows.
    const counts = await webview.locator('.weight-histogram svg.bars .bar-value').allTextContents();
    assert.equal(counts.map(Number).reduce((a, b) => a + b, 0), 286);
    // The resample went to a new file next to the source, with the header and 20 rows.
    await webview.getByRole('link', { name: 's57objectclasses.dsir-20.csv' }).waitFor();
    const written = readFileSync(join(workspace, 'charts', 's57objectclasses.dsir-20.csv'), 'utf8').trim().split('\n');
    assert.equal(written.length, 21);
    assert.equal(written[0], readFileSync(join(FIXTURES, 's57objectclasses.csv'), 'utf8').split('\n')[0]);

    // Clicking the best row selects its line in the CSV editor beside the panel.
    const first = highest.first();
    const line = Number(await first.locator('td').first().innerText());
    const rowText = await first.locator('td.row-text').innerText();
    assert.ok(line >= 2 && line <= 287, `line ${line}`);
    await first.click();
    await page.locator('.statusbar-item', { hasText: new RegExp(`Ln ${line}, Col \\d+ \\(\\d+ selected\\)`) }).waitFor({ timeout: 30_000 });
    await page.locator('.editor-group-container.active .tab.active', { hasText: 's57objectclasses.csv', hasNotText: 'Dataset' }).waitFor();
    const selected = page.locator('.editor-instance .monaco-editor .view-line', { hasText: rowText.split(',')[0]! });
    await selected.first().waitFor();
    // For the screenshot: the weights and the top of the table beside the revealed line.
    await webview.locator('.weight-histogram').evaluate((e) => e.scrollIntoView({ block: 'start' }));
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'csv-rows.png') });
  }
});
