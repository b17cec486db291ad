// The editor around a model's config.json in a real VS Code: its CodeLens opens the analysis; once a layer ranking
// ran for the folder, a hover on num_hidden_layers tells what the key means, what the config implies and shows
// the ranking as a sparkline. Leaves test-output/ui/config-hover.png for a person to look at.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../harness/codeServer';
import { answerOpenDialog, commandPalette, expandFolder, explorerMenu, holdAnalysisOf, openWorkbench, SCREENSHOTS } from '../harness/workbench';
import { encodeSafetensors } from '../fixtures/safetensorsWriter';

/** A workspace with the trained sample model and a psalm to run it on. */
function sampleWorkspace(): string {
  const workspace = mkdtempSync(join(tmpdir(), 'il-ui-'));
  cpSync(join(ROOT, 'samples', 'tiny-llama-kjv'), join(workspace, 'tiny-llama-kjv'), { recursive: true });
  cpSync(join(ROOT, 'samples', 'text', 'psalms-23.txt'), join(workspace, 'text', 'psalms-23.txt'));
  return workspace;
}

test('config.json: CodeLens -> layer importance on text, then the hover on num_hidden_layers shows meaning, facts and sparkline', { timeout: 240_000 }, async (t) => {
  const workspace = sampleWorkspace();
  const page = await openWorkbench(t, workspace);
  try {
    await expandFolder(page, 'tiny-llama-kjv');
    await page.getByRole('treeitem', { name: 'config.json', exact: true }).dblclick();
    const editor = page.locator('.editor-instance .monaco-editor').first();
    await editor.locator('.view-line').first().waitFor();

    // The CodeLens of a model config: both actions, above the first line.
    const lenses = editor.locator('.codelens-decoration');
    await lenses.getByText('Plan pruning').waitFor({ timeout: 60_000 });
    assert.match(await lenses.first().innerText(), /Analyze importance\s*\|\s*Plan pruning/);
    // A CodeLens can be redrawn under the pointer as the editor settles: click until the panel opens.
    const panelTab = page.locator('.tab', { hasText: 'Importance: config.json' });
    for (let attempt = 0; ; attempt++) {
      await lenses.getByText('Analyze importance').click();
      if (await panelTab.waitFor({ timeout: 10_000 }).then(() => true, () => false)) break;
      if (attempt === 3) throw new Error('the "Analyze importance" CodeLens did not open the panel');
    }

    // The panel of the model: layer importance on the psalm (the text picked in VS Code's open dialog).
    const webview = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await webview.locator('vscode-panel-tab.tab-layers').click({ timeout: 60_000 });
    const section = webview.locator('section.layers-on-text');
    await section.getByRole('button', { name: 'Compute' }).click({ timeout: 60_000 });
    await answerOpenDialog(page, 'Pick a text file to run the model on', join(workspace, 'text', 'psalms-23.txt'));
    await section.getByText(/device \S+ · \d+ tokens in \d+ windows?/).waitFor({ timeout: 60_000 });
    // The status bar names the device the analysis ran on.
    await page.locator('.statusbar-item', { hasText: /Importance Lens: (cpu|cuda|webgpu)/ }).waitFor();

    // Back in config.json: hover on the key.
    await page.locator('.tab', { hasText: 'config.json' }).first().click();
    const key = editor.locator('.view-line span', { hasText: '"num_hidden_layers"' }).first();
    await key.waitFor();
    const hover = page.locator('.monaco-hover', { hasText: 'Number of transformer blocks' });
    // Pointer hovers race with the editor settling (and with the JSON language server starting on a busy machine):
    // the cursor on the key and Show Hover (Ctrl+K Ctrl+I) asks for the same hover deterministically.
    for (let attempt = 0; ; attempt++) {
      await key.click();
      await page.keyboard.press('Control+K');
      await page.keyboard.press('Control+I');
      if (await hover.waitFor({ timeout: 10_000 }).then(() => true, () => false)) break;
      if (attempt === 3) throw new Error('no hover on num_hidden_layers');
      await page.keyboard.press('Escape');
    }
    const text = await hover.innerText();
    assert.match(text, /num_hidden_layers — Number of transformer blocks/);
    assert.match(text, /Parameters per layer: 184,576 — attention 49,152 \(26\.6%\) · MLP 135,168 \(73\.2%\) · norms 256/);
    assert.match(text, /Parameters in all: 1,000,576 \(1\.00 M\)/);
    assert.match(text, /grouped-query attention: 4 query heads share 2 KV heads/);
    assert.match(text, /KV cache: 2,048 bytes \(2\.0 KB\) per token at float32/);
    assert.match(text, /RoPE, θ = 10,000, context 256 tokens, no scaling/);
    assert.match(text, /Layer importance — Block Influence, (cpu|cuda|webgpu), \d+ tokens/);
    assert.match(text, /layers 0–3, left to right/);
    // The bar chart image (an SVG data URI) is drawn, 4 bars wide.
    const chart = hover.locator('img[src^="data:image/svg+xml"]');
    await chart.waitFor();
    assert.equal(await chart.evaluate((img) => { const image = img as unknown as { complete: boolean; naturalWidth: number }; return image.complete && image.naturalWidth; }), 76);
    assert.match(await chart.getAttribute('alt') ?? '', /^[▁▂▃▄▅▆▇█]{4}$/);
    assert.match(text, /Least important \(orange\): layer \d \([^)]+, rank 4\), layer \d \([^)]+, rank 3\), layer \d \([^)]+, rank 2\)/);
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'config-hover.png') });
  }
});

test('Restricted Mode: the summary opens, running the model is refused with the reason and Manage Workspace Trust', { timeout: 240_000 }, async (t) => {
  const workspace = sampleWorkspace();
  const page = await openWorkbench(t, workspace, { workspaceTrust: true });
  try {
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).waitFor({ timeout: 60_000 });
    await expandFolder(page, 'tiny-llama-kjv');
    await explorerMenu(page, 'config.json', 'Analyze Importance');

    // Headers run: the summary is there.
    const webview = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await webview.locator('vscode-panel-tab.tab-layers').click({ timeout: 60_000 });
    const section = webview.locator('section.layers-on-text');
    await section.getByRole('button', { name: 'Compute' }).click({ timeout: 60_000 });

    // The model does not run, and no text is asked for first: the section says why, and so does a warning with the way out (as a toast, or in the
    // notification centre when the toast has already gone).
    const reason = /Layer importance by [\w-]+ runs a model; Restricted Mode \(an untrusted workspace\) runs only checkpoint headers and weight statistics\. Trust the workspace to run it\./;
    await section.getByText(reason).waitFor({ timeout: 60_000 });
    const notice = page.locator('.notification-list-item', { hasText: 'runs a model' }).first();
    if (!(await notice.waitFor({ timeout: 5_000 }).then(() => true, () => false))) {
      await page.locator('[id="status.notifications"]').click();
      await notice.waitFor();
    }
    assert.match(await notice.innerText(), reason);
    await notice.getByRole('button', { name: 'Manage Workspace Trust' }).waitFor();
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'restricted-mode.png') });
  }
});

test('status bar: a running job shows a spinner with its name, and a click on it cancels the job', { timeout: 240_000 }, async (t) => {
  const workspace = mkdtempSync(join(tmpdir(), 'il-ui-'));
  // 4 × 4096² F32 (256 MiB) of weight statistics. The job is held in flight while the test looks at it and clicks:
  // the analysis process is paused before the job is asked for (a fast machine would otherwise finish first).
  const side = 4096;
  const tensors = [0, 1, 2, 3].map((i) => ({ name: `model.layers.${i}.mlp.down_proj.weight`, dtype: 'F32', shape: [side, side], data: Buffer.alloc(side * side * 4, i + 1) }));
  mkdirSync(join(workspace, 'large'));
  writeFileSync(join(workspace, 'large', 'large.safetensors'), encodeSafetensors(tensors));
  const page = await openWorkbench(t, workspace);
  const item = page.locator('.statusbar-item', { hasText: 'weight statistics of large.safetensors' });
  let resume: () => void = () => undefined;
  try {
    await expandFolder(page, 'large');
    await explorerMenu(page, 'large.safetensors', 'Analyze Importance');
    const webview = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await webview.locator('vscode-panel-tab.tab-layers').click({ timeout: 60_000 });
    // The summary came from the analysis process (the inspect job logged below), so it is running: pause it. The
    // statistics job then starts (the host shows it) but cannot end; the cancel ends it by the client's grace
    // period, which fails the job and replaces the process (a worker's own prompt stop on a cancel is checked in
    // test/extension-host/responsiveness.test.ts).
    await webview.getByRole('button', { name: 'Compute weight statistics' }).waitFor({ timeout: 60_000 });
    resume = holdAnalysisOf(page);
    await webview.getByRole('button', { name: 'Compute weight statistics' }).click();
    await item.waitFor({ timeout: 30_000 });
    assert.match(await item.getAttribute('aria-label') ?? '', /running weight statistics of \/.*large\.safetensors[\s\S]*Click to cancel/);
    assert.match(await item.innerText(), /weight statistics of large\.safetensors · (cpu|webgpu\?|cuda\?)/);
    await page.screenshot({ path: join(SCREENSHOTS, 'status-bar-job.png') });
    await item.click();
    await webview.getByText('Computing weight statistics was cancelled.').waitFor({ timeout: 30_000 });
    await item.waitFor({ state: 'detached' });
    resume();

    // The output channel logged both jobs: the summary read (files only), then the cancelled statistics.
    await commandPalette(page, 'Output: Show Output Channels');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Show Output Channels' }).first().click();
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Importance Lens' }).first().click();
    const output = page.locator('.part.panel .view-lines');
    // The editor draws spaces as no-break spaces, and long lines wrap into several view lines: read the text
    // without the breaks, with plain spaces.
    const read = async () => ((await output.textContent()) ?? '').replace(/\u00a0/g, ' ');
    for (const deadline = Date.now() + 30_000; !/job \d+ cancelled after [\d.]+ s/.test(await read()); await page.waitForTimeout(200)) {
      if (Date.now() > deadline) throw new Error(`no cancelled job in the output channel:\n${await read()}`);
    }
    const lines = await read();
    assert.match(lines, /job \d+ started: inspect of \/\S*large\.safetensors ·\s*\{"analysis":"inspect","path":"[^"]+"\}/);
    assert.match(lines, /job \d+ finished in [\d.]+ s on no device \(files only\): [^\n]*tensors 4/);
    assert.match(lines, /job \d+ started: weight statistics of \/\S*large\.safetensors ·\s*\{"analysis":"stats"/);
  } finally {
    resume();
    await page.screenshot({ path: join(SCREENSHOTS, 'status-bar-cancelled.png') });
  }
});
