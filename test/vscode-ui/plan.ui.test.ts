// Pruning plans through the real UI: explorer right-click on a model folder -> Plan Pruning -> QuickPicks and the
// amount -> the plan opens with its panel; the plan's CodeLens "Preview diff" opens the diff editor on config.json;
// Verify and Apply from the panel and the CodeLens; the originals stay byte-identical. Leaves screenshots in
// test-output/ui/ for a person to look at.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { applyNotice, modelHashes, openPlanPruning, pickLabel, planCodeLens, planPanelTab, planTab, planWorkspace } from '../harness/planSteps';
import { openWorkbench, SCREENSHOTS, switchTheme } from '../harness/workbench';

const PLAN = 'drop-1-layers-block-influence.pruneplan.json';

test('Plan Pruning from the explorer -> plan document and panel -> Preview diff -> Verify -> Apply', { timeout: 300_000 }, async (t) => {
  const { workspace, model } = planWorkspace('il-plan-ui-', ['LlamaAttention', 'LlamaDecoderLayer']);
  const before = modelHashes(model);
  const page = await openWorkbench(t, workspace, { viewport: { width: 1500, height: 900 } });

  // Right-click the model folder: the kinds this model allows, the metric, the amount.
  await openPlanPruning(page, 'plan-failure.png');
  await pickLabel(page, 'Drop layers');
  await pickLabel(page, 'Block Influence');
  const amount = page.locator('.quick-input-widget input');
  await page.locator('.quick-input-widget', { hasText: 'Blocks to drop (1–3)' }).waitFor({ timeout: 30_000 });
  assert.equal(await amount.inputValue(), '1');
  await amount.press('Enter');

  // The plan opens as a document, written next to the model, and its panel beside it.
  await planTab(page, PLAN).waitFor({ timeout: 120_000 });
  const planPath = join(model, PLAN);
  const plan = JSON.parse(readFileSync(planPath, 'utf8'));
  assert.equal(plan.metric.name, 'block-influence');
  assert.equal(plan.actions[0].layers.length, 1);
  const webview = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  await webview.locator('table.plan-rows tr.row').nth(3).waitFor({ timeout: 60_000 });
  assert.equal(await webview.locator('table.plan-rows tr.removed').count(), 1);
  assert.match(await webview.locator('.totals').innerText(), /layers\s+4 → 3/);

  // The explorer is done with: the editors get the width.
  await page.keyboard.press('Control+B');

  // Each row links to its source: config.json at the key's line, the modeling_*.py class.
  await webview.locator('table.plan-rows tr.removed a', { hasText: 'num_hidden_layers' }).click();
  await page.locator('.statusbar-item', { hasText: 'Ln 8, Col 1' }).waitFor({ timeout: 30_000 });
  await page.getByRole('tab', { name: /^config\.json,/ }).waitFor();
  await webview.locator('table.plan-rows tr.removed a', { hasText: 'LlamaDecoderLayer' }).click();
  await page.locator('.statusbar-item', { hasText: 'Ln 9, Col 1' }).waitFor({ timeout: 30_000 });

  // CodeLens "Preview diff": config.json, original vs planned, in the diff editor.
  try {
    await planCodeLens(page, PLAN, 'Preview diff');
    const diff = page.locator('.monaco-diff-editor').first();
    await diff.locator('.editor.modified .view-line', { hasText: '"num_hidden_layers": 3' }).waitFor({ timeout: 60_000 });
    await diff.locator('.editor.original .view-line', { hasText: '"num_hidden_layers": 4' }).waitFor();
    await page.getByRole('tab', { name: /^config\.json ↔ planned \(drop-1-layers-block-influence\.pruneplan\.json\)/ }).waitFor();
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'plan-diff.png') });
  }

  const panel = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  try {
    // Verify from the panel: perplexity before and after on the sample text.
    await planPanelTab(page, PLAN).click();
    await panel.locator('vscode-button.plan-verify').click({ timeout: 30_000 });
    await panel.locator('.plan-verified', { hasText: 'perplexity' }).waitFor({ timeout: 120_000 });
    assert.match(await panel.locator('.plan-verified').innerText(), /perplexity\s+[\d.]+ → [\d.]+/);

    // CodeLens "Apply…": the output folder defaults to a new sibling; the pruned model is written there.
    await planCodeLens(page, PLAN, 'Apply…');
    const out = page.locator('.quick-input-widget input');
    await page.locator('.quick-input-widget', { hasText: 'output folder' }).waitFor({ timeout: 30_000 });
    assert.equal(await out.inputValue(), `${model}-pruned`);
    await out.press('Enter');
    await panel.locator('.plan-applied', { hasText: `written to ${model}-pruned` }).waitFor({ timeout: 120_000 });
    // The notification offers to reveal or analyse the result (a toast, or in the notification centre once the
    // toast has gone).
    const notice = await applyNotice(page, 'tiny-llama-kjv-pruned');
    await notice.getByRole('button', { name: 'Analyze Importance' }).waitFor();
    await notice.getByRole('button', { name: 'Reveal in Explorer' }).waitFor();
    await page.keyboard.press('Escape');
    assert.equal(JSON.parse(readFileSync(join(`${model}-pruned`, 'config.json'), 'utf8')).num_hidden_layers, 3);
    assert.ok(existsSync(join(`${model}-pruned`, 'tokenizer.json')));
    assert.deepEqual(modelHashes(model), before, 'the original files are byte-identical');

    assert.equal(await panel.locator('.plan-verified').count(), 1, 'the verification stays beside the apply');
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'plan-panel.png') });
  }

  // The plan panel in a dark theme, for a person to look at.
  await switchTheme(page, 'Dark 2026', 'vs-dark');
  await panel.locator('body.vscode-dark table.plan-rows tr.row').first().waitFor({ timeout: 30_000 });
  await page.screenshot({ path: join(SCREENSHOTS, 'plan-panel-dark.png') });
});
