// The MLP-width plan (drop-mlp-channels) through the real UI, as a user takes it: explorer right-click on a model
// folder -> Plan Pruning -> "Shrink the MLP width" -> channel magnitude (weights only) -> 25% -> the plan document and
// its panel with one row per block; the CodeLens Preview diff shows config.json's intermediate_size 352 -> 264;
// Verify reports perplexity before/after, which must equal the CLI's perplexity of the original and of the applied
// folder; Apply writes a new folder with the narrower MLP while the original stays byte-identical. Leaves
// screenshots in test-output/ui/ (wide and narrow panel, light and dark) for a person to look at.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../harness/codeServer';
import { applyNotice, modelHashes, openPlanPruning, pickDescription, pickLabel, planCodeLens, planPanelTab, planTab, planWorkspace } from '../harness/planSteps';
import { openWorkbench, SCREENSHOTS, switchTheme } from '../harness/workbench';

const PLAN = 'drop-25pct-mlp-channels-channel-magnitude.pruneplan.json';
/** tiny-llama-kjv: intermediate_size 352, 4 blocks; 25% of 352 = 88 channels per block. */
const WIDTH = 352;
const DROPPED = 88;

/** The shapes in a .safetensors header (8-byte little-endian length, then JSON). */
function safetensorsShapes(file: string): Record<string, number[]> {
  const bytes = readFileSync(file);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as Record<string, { shape?: number[] }>;
  return Object.fromEntries(Object.entries(header).filter(([name]) => name !== '__metadata__').map(([name, t]) => [name, t.shape!]));
}

/** The CLI's perplexity of a model folder on a text: a path independent of the panel's Verify (which prunes into a scratch folder). */
function cliPerplexity(model: string, text: string): number {
  const out = execFileSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'perplexity', model, '--text-file', text, '--json'], { encoding: 'utf8', env: { ...process.env, IMPORTANCE_LENS_PROVIDERS: 'cpu' } });
  return (JSON.parse(out) as { perplexity: number }).perplexity;
}

test('Plan Pruning -> Shrink the MLP width -> per-block channel rows -> Preview diff -> Verify -> Apply', { timeout: 300_000 }, async (t) => {
  const { workspace, model } = planWorkspace('il-plan-channels-ui-', ['LlamaMLP', 'LlamaDecoderLayer']);
  const text = join(workspace, 'text', 'psalms-23.txt');
  const before = modelHashes(model);
  const page = await openWorkbench(t, workspace, { viewport: { width: 1500, height: 900 } });

  // Right-click the model folder: the kind, the metric (weights only: no text is asked for), the amount.
  await openPlanPruning(page, 'plan-channels-failure.png');
  await pickLabel(page, 'Shrink the MLP width');
  const metrics = page.locator('.quick-input-widget', { hasText: 'the MLP width, scored by' });
  await metrics.locator('.label-description', { hasText: 'channel-taylor' }).waitFor({ timeout: 30_000 });
  await page.screenshot({ path: join(SCREENSHOTS, 'plan-channels-metric.png') });
  await pickDescription(page, 'channel-magnitude');
  // The amount: a count of the 352 channels or a fraction of the width; a quarter by default.
  const box = page.locator('.quick-input-widget', { hasText: 'MLP channels to drop per block' });
  await box.waitFor({ timeout: 30_000 });
  assert.match(await box.innerText(), /351 of 352, or a fraction of the width such as 25%/);
  const amount = page.locator('.quick-input-widget input');
  assert.equal(await amount.inputValue(), '25%');
  await page.screenshot({ path: join(SCREENSHOTS, 'plan-channels-amount.png') });
  await amount.press('Enter');

  // The plan is written next to the model and opens with its panel.
  await planTab(page, PLAN).waitFor({ timeout: 120_000 });
  const plan = JSON.parse(readFileSync(join(model, PLAN), 'utf8'));
  assert.equal(plan.metric.name, 'channel-magnitude');
  assert.equal(plan.metric.text ?? null, null, 'a weight-only metric runs on no text');
  const action = plan.actions.find((a: { type: string }) => a.type === 'drop-mlp-channels');
  assert.deepEqual(Object.keys(action.channels).sort(), ['0', '1', '2', '3']);
  for (const channels of Object.values(action.channels) as number[][]) assert.equal(channels.length, DROPPED);

  const panel = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  const rows = panel.locator('table.plan-rows tbody tr.row');
  await rows.nth(3).waitFor({ timeout: 60_000 });
  // The explorer is done with: the editors get the width.
  await page.keyboard.press('Control+B');
  await page.locator('.part.sidebar').first().waitFor({ state: 'hidden' });
  try {
    assert.equal(await rows.count(), 4, 'one row per block');
    for (let layer = 0; layer < 4; layer++) {
      const row = rows.nth(layer);
      assert.match(await row.innerText(), new RegExp(`MLP of block ${layer}`));
      assert.match(await row.innerText(), new RegExp(`${DROPPED} of ${WIDTH} channels`));
    }
    assert.match(await panel.locator('.totals').innerText(), /config\.json\s+intermediate_size/);
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'plan-channels-panel.png') });
  }

  // A row's links: intermediate_size in config.json (line 7), the *MLP class of modeling_llama.py (line 5).
  await rows.first().locator('a', { hasText: 'intermediate_size' }).click();
  await page.locator('.statusbar-item', { hasText: 'Ln 7, Col 1' }).waitFor({ timeout: 30_000 });
  await rows.first().locator('a', { hasText: 'LlamaMLP' }).click();
  await page.locator('.statusbar-item', { hasText: 'Ln 5, Col 1' }).waitFor({ timeout: 30_000 });

  // CodeLens "Preview diff": only intermediate_size changes in config.json.
  try {
    await planCodeLens(page, PLAN, 'Preview diff');
    const diff = page.locator('.monaco-diff-editor').first();
    await diff.locator('.editor.modified .view-line', { hasText: `"intermediate_size": ${WIDTH - DROPPED}` }).waitFor({ timeout: 60_000 });
    await diff.locator('.editor.original .view-line', { hasText: `"intermediate_size": ${WIDTH}` }).waitFor();
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'plan-channels-diff.png') });
  }

  const out = `${model}-pruned`;
  try {
    // Verify from the panel: perplexity before and after on the sample text.
    await planPanelTab(page, PLAN).click();
    await panel.locator('vscode-button.plan-verify').click({ timeout: 30_000 });
    await panel.locator('.plan-verified', { hasText: 'perplexity' }).waitFor({ timeout: 120_000 });
    const verified = /perplexity\s+([\d.]+) → ([\d.]+)/.exec(await panel.locator('.plan-verified').innerText());
    assert.ok(verified, 'the verification shows perplexity before -> after');
    assert.match(await panel.locator('.plan-verified').innerText(), /run on the source model in memory; nothing written/);
    assert.match(await panel.locator('.plan-verified .warnings').innerText(), /^verified without writing: the plan ran on the source model in memory \(MLP channels zeroed out/);

    // CodeLens "Apply...": a new sibling folder by default.
    await planCodeLens(page, PLAN, 'Apply');
    const folder = page.locator('.quick-input-widget input');
    await page.locator('.quick-input-widget', { hasText: 'output folder' }).waitFor({ timeout: 30_000 });
    assert.equal(await folder.inputValue(), out);
    await folder.press('Enter');
    await panel.locator('.plan-applied', { hasText: `written to ${out}` }).waitFor({ timeout: 120_000 });
    await (await applyNotice(page, 'tiny-llama-kjv-pruned')).getByRole('button', { name: 'Analyze Importance' }).waitFor();
    await page.keyboard.press('Escape');

    // The new folder: the narrower MLP in config.json and in every block's gate/up/down; the original untouched.
    assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).intermediate_size, WIDTH - DROPPED);
    const shapes = safetensorsShapes(join(out, 'model.safetensors'));
    for (let layer = 0; layer < 4; layer++) {
      assert.deepEqual(shapes[`model.layers.${layer}.mlp.gate_proj.weight`], [WIDTH - DROPPED, 128]);
      assert.deepEqual(shapes[`model.layers.${layer}.mlp.up_proj.weight`], [WIDTH - DROPPED, 128]);
      assert.deepEqual(shapes[`model.layers.${layer}.mlp.down_proj.weight`], [128, WIDTH - DROPPED]);
    }
    assert.deepEqual(modelHashes(model), before, 'the original files are byte-identical');

    // The panel's numbers (3 decimals, from the plan run in memory with the channels zeroed) against the CLI's
    // perplexity of the original and of the folder Apply wrote: the rounding, and float32 sums in another order.
    for (const [shown, folder] of [[verified[1], model], [verified[2], out]] as const) {
      const cli = cliPerplexity(folder, text);
      assert.ok(Math.abs(Number(shown) - cli) <= 5e-4 + 1e-5 * cli, `panel ${shown}, CLI ${cli} for ${folder}`);
    }
    assert.ok(Number(verified[2]) > Number(verified[1]), 'a quarter of the MLP width gone costs perplexity');
  } finally {
    await planPanelTab(page, PLAN).click();
    await page.screenshot({ path: join(SCREENSHOTS, 'plan-channels-verified.png') });
  }

  // A narrow window: the panel beside the plan gets about 450 px. Dark theme, for a person to look at.
  await page.setViewportSize({ width: 900, height: 900 });
  await switchTheme(page, 'Dark 2026', 'vs-dark');
  await panel.locator('body.vscode-dark table.plan-rows tr.row').first().waitFor({ timeout: 30_000 });
  // The mouse off the tab bar (its tooltip), the panel at its top.
  await page.mouse.move(300, 600);
  await panel.locator('h1').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(SCREENSHOTS, 'plan-channels-narrow-dark.png') });
});
