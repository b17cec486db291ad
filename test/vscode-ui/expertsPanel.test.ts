// The Layers view's "Experts on text" card in headless Chromium on the built bundle (test/e2e/webviewPage.ts): an
// MoE model is offered the card, Compute asks the host for the job, the result of the real analysis on the Qwen3-MoE
// fixture is drawn as one row per MoE block and one cell per expert (its routing share, shaded by Δ NLL rank, the
// numbers in the title), and a hidden-and-shown webview keeps it. Taylor is opt-in: the checkbox beside Compute
// asks for it (computeExperts with taylor: true), a result without it offers "Compute again with Taylor importance"
// and has no Taylor in its titles, and a result with it (the real analysis with taylor) shows it in each title.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspectResult } from '../fixtures/panelMessages';
import { drain } from '../../src/analyses';
import { expertImportance } from '../../src/analyses/experts';
import { launchBrowser, ROOT } from '../harness/codeServer';
import { paintMessages, posted, webviewPageHtml } from '../harness/webviewPage';

test('model panel: expert importance card on an MoE model', { timeout: 120_000 }, async (t) => {
  const model = join(ROOT, 'test', 'fixtures', 'models', 'moe-qwen3');
  const result = await drain(expertImportance({ model, text: { file: join(ROOT, 'samples', 'text', 'psalms-23.txt') }, maxTokens: 64, providers: ['cpu'] }));
  const withTaylor = await drain(expertImportance({ model, text: { file: join(ROOT, 'samples', 'text', 'psalms-23.txt') }, maxTokens: 64, providers: ['cpu'], taylor: true }));
  const dir = mkdtempSync(join(tmpdir(), 'il-experts-'));
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'panel.html');
  writeFileSync(file, webviewPageHtml(ROOT, 'dark'));
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(`file://${file}`);
  await paintMessages(page, [{ type: 'inspectResult', result: inspectResult(2, 60) }, { type: 'expertsOffer' }]);
  await page.getByRole('tab', { name: 'Layers' }).click();
  await page.locator('.experts-on-text h3', { hasText: 'Experts on text' }).waitFor();
  await page.locator('vscode-button.compute-experts').click();
  assert.deepEqual((await posted(page)).filter((m) => m.type === 'computeExperts'), [{ type: 'computeExperts' }]);
  await paintMessages(page, [{ type: 'expertsProgress', progress: { message: 'Dropping each expert of block 0, window 1 / 1', fraction: 0.3 } }]);
  await page.locator('.experts-on-text [role="status"]', { hasText: 'Dropping each expert of block 0' }).waitFor();
  await page.locator('vscode-button.cancel-experts').click();
  assert.equal((await posted(page)).filter((m) => m.type === 'cancelExperts').length, 1);

  await paintMessages(page, [{ type: 'expertsResult', result, textFile: '/texts/psalms-23.txt' }]);
  const grid = page.locator('table.expert-grid');
  await grid.waitFor();
  assert.equal(await grid.locator('tbody tr').count(), result.blocks.length);
  assert.equal(await grid.locator('tbody td').count(), result.blocks.length * result.experts);
  const first = result.blocks[0]!.experts[0]!;
  const title = await grid.locator('tbody tr').first().locator('td').first().getAttribute('title');
  assert.match(title!, new RegExp(`^expert 0: share ${(first.share * 100).toFixed(1)}% .* rank ${first.rank} `));
  assert.doesNotMatch(title!, /Taylor/);
  assert.match(await page.locator('.experts-result').innerText(), /psalms-23\.txt · 64 tokens · qwen3_moe, 4 experts, top-2/);
  // Without Taylor the result offers it: the analysis again, with the backward pass.
  await page.locator('vscode-button.experts-again-taylor').click();
  assert.deepEqual((await posted(page)).filter((m) => m.type === 'computeExperts').at(-1), { type: 'computeExperts', taylor: true });
  // The checkbox beside Compute (after a failure the card offers Compute again) keeps the choice.
  await paintMessages(page, [{ type: 'expertsError', title: 'Cancelled', message: 'Computing expert importance was cancelled.' }]);
  await page.locator('vscode-checkbox.experts-taylor[checked]').waitFor();
  await page.locator('vscode-checkbox.experts-taylor').click();
  await page.locator('vscode-button.compute-experts').click();
  assert.deepEqual((await posted(page)).filter((m) => m.type === 'computeExperts').at(-1), { type: 'computeExperts' });
  await page.locator('vscode-checkbox.experts-taylor').click();
  await page.locator('vscode-button.compute-experts').click();
  assert.deepEqual((await posted(page)).filter((m) => m.type === 'computeExperts').at(-1), { type: 'computeExperts', taylor: true });
  await paintMessages(page, [{ type: 'expertsResult', result: withTaylor, textFile: '/texts/psalms-23.txt' }]);
  await grid.waitFor();
  const taylorTitle = await grid.locator('tbody tr').first().locator('td').first().getAttribute('title');
  assert.match(taylorTitle!, new RegExp(` · Taylor ${withTaylor.blocks[0]!.experts[0]!.taylor!.toPrecision(3).replace('.', '\\.')}$`));
  assert.equal(await page.locator('vscode-button.experts-again-taylor').count(), 0);
  if (process.env.IMPORTANCE_LENS_SCREENSHOTS) await page.locator('.experts-on-text').screenshot({ path: join(process.env.IMPORTANCE_LENS_SCREENSHOTS, 'experts-card.png') });

  // The webview keeps only the view's choices; the host sends the kept expert result again when the panel is shown.
  const state = await page.evaluate('window.__state') as { inspect: Record<string, unknown> };
  assert.deepEqual(Object.keys(state.inspect), ['ui']);
  assert.deepEqual(errors, []);
});
