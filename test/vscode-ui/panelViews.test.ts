// The model panel's views in plain headless Chromium on the built bundle, with the webview API stood in for
// (test/harness/webviewPage.ts): fast checks of what the code-server test cannot reach cheaply — a 100 000-tensor table
// keeps a few dozen rows in the DOM and draws the ones scrolled to, sorts and filters all of them, moves by
// keyboard; the messages the views send (histogram, config key) and the state they save.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspectResult, textLayers } from '../fixtures/panelMessages';
import { seededRandom } from '../../src/compute/random';
import { launchBrowser, ROOT } from '../harness/codeServer';
import { paintMessages, posted, webviewPageHtml } from '../harness/webviewPage';

test('model panel: virtualised 100 000-tensor table, links and saved state', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'il-views-'));
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'panel.html');
  writeFileSync(file, webviewPageHtml(ROOT, 'dark'));
  const page = await browser.newPage({ viewport: { width: 1300, height: 800 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(`file://${file}`);
  const big = inspectResult(1000, 100_000);
  await paintMessages(page, [{ type: 'inspectResult', result: big }]);
  assert.equal(await page.getByRole('tab', { name: 'Overview' }).getAttribute('aria-selected'), 'true');

  // The view switcher is a tablist: arrow keys move between the views.
  await page.getByRole('tab', { name: 'Overview' }).focus();
  await page.keyboard.press('ArrowRight');
  await page.getByRole('tab', { name: 'Layers', selected: true }).waitFor();
  await page.getByRole('tab', { name: 'Tensors' }).click();
  const rows = page.locator('table.tensors tr.tensor');
  await rows.first().waitFor();
  assert.match(await page.locator('.table-footer').innerText(), /^100000 of 100000 tensors/);
  assert.ok(await rows.count() < 120, `${await rows.count()} rows in the DOM`);
  assert.equal(await page.locator('table.tensors').getAttribute('aria-rowcount'), String(100_000 + 1000 + 1), 'every tensor, the 1 000 layer groups and the header');

  // Flat, sorted by name descending: the scroll box's end holds the alphabetically first tensor.
  await page.locator('vscode-checkbox.group-by-layer').click();
  // The sorted column's arrow (CSS ::after) is part of its button's accessible name.
  const sortByName = page.locator('th .sort', { hasText: /^Tensor$/ });
  await sortByName.click();
  await sortByName.click();
  assert.equal(await page.locator('th[aria-sort="descending"]').innerText(), 'Tensor');
  await page.locator('.tensor-scroll').evaluate((box: { scrollTop: number; scrollHeight: number }) => {
    box.scrollTop = box.scrollHeight;
  });
  const first = [...big.tensors].map((x) => x.name).sort()[0]!;
  await page.locator('table.tensors tr.tensor', { hasText: first }).waitFor();
  assert.ok(await rows.count() < 120);

  // Filter narrows all 100 000 (the 100 experts' tensors of layer 7), then the keyboard walks the rows.
  await page.locator('vscode-text-field.filter input').fill('layers.7.experts.');
  await page.locator('.table-footer', { hasText: /^100 of 100000 tensors/ }).waitFor();
  await page.locator('.tensor-open').first().focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  const third = await page.locator('.tensor-open').nth(2).innerText();
  await page.locator('.tensor-detail h3', { hasText: third }).waitFor();
  assert.deepEqual((await posted(page)).filter((m) => m.type === 'computeHistogram'), [{ type: 'computeHistogram', tensor: third }]);
  await paintMessages(page, [{ type: 'histogramError', tensor: third, message: 'tensor \'x\' ends at byte 9 but the file has 8' }]);
  assert.match(await page.locator('.tensor-detail [role="alert"]').innerText(), /ends at byte 9/);

  // Layers: a metric arriving is drawn; the block's config link asks for num_hidden_layers.
  await page.getByRole('tab', { name: 'Layers' }).click();
  await paintMessages(page, [{ type: 'layersResult', result: textLayers('block-influence', 1000, seededRandom(1)) }]);
  await page.locator('.series-note', { hasText: 'Block Influence' }).waitFor();
  assert.equal(await page.locator('.layer-row').count(), 1000);
  await page.locator('.layer-source .config-key-link').click();
  assert.deepEqual((await posted(page)).filter((m) => m.type === 'openFile'), [{ type: 'openFile', path: '/models/m/config.json', key: 'num_hidden_layers' }]);

  // What a hidden-and-shown webview gets back: the choices only; the host sends the results again on `ready`.
  const state = await page.evaluate('window.__state') as { inspect: { ui: { view: string; metric: string; table: { filter: string; grouped: boolean; sort: string; selected: string } } } };
  assert.equal(state.inspect.ui.view, 'layers');
  assert.equal(state.inspect.ui.metric, 'block-influence');
  assert.deepEqual({ ...state.inspect.ui.table, selected: state.inspect.ui.table.selected }, { filter: 'layers.7.experts.', sort: 'name', descending: true, grouped: false, selected: third });
  assert.deepEqual(Object.keys(state), ['inspect']);
  assert.deepEqual(Object.keys(state.inspect), ['ui']);
  assert.deepEqual(errors, []);
});
