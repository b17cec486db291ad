// Issue #13's done-when in a real VS Code: a checkpoint of Qwen2.5-0.5B's shape (24 blocks, hidden 896, a 151 936-token
// vocabulary, tied head, ~1 GB of random BF16 weights from test/fixtures/realShapes.ts) runs "Layer importance on
// text" from the panel through the block-streaming engine: the panel shows progress per block ("block N / 24, t s")
// while it runs, then 24 bars of Block Influence. Leaves test-output/ui/{real-shape-progress,real-shape-layers}.png.
//
// The generated folder is kept under os.tmpdir() (importance-lens-real-shapes/qwen0.5b, ~1 GB, ~10 s to write) and
// reused while its config, files and sizes are what the generator writes; the workspace gets a hard link to its
// weights (a copy across file systems), so deleting the workspace after the test leaves the cache as it was.
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, linkSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../harness/codeServer';
import { explorerMenu, openWorkbench, SCREENSHOTS } from '../harness/workbench';
import { SHAPES, writeModelFolder } from '../fixtures/realShapes';

const SHAPE = 'qwen0.5b';
const BLOCKS = 24;

/** The cached real-shaped folder (written on the first run, reused after). */
function cachedModel(): string {
  const dir = join(tmpdir(), 'importance-lens-real-shapes', SHAPE);
  writeModelFolder(dir, SHAPES[SHAPE]!());
  return dir;
}

/** A workspace with the model folder (weights hard-linked from the cache), John 1 as the sample text, 256 tokens. */
function realShapeWorkspace(model: string): string {
  const workspace = mkdtempSync(join(tmpdir(), 'il-ui-real-'));
  const folder = join(workspace, SHAPE);
  mkdirSync(folder);
  for (const file of ['config.json', 'tokenizer.json']) copyFileSync(join(model, file), join(folder, file));
  try {
    linkSync(join(model, 'model.safetensors'), join(folder, 'model.safetensors'));
  } catch {
    copyFileSync(join(model, 'model.safetensors'), join(folder, 'model.safetensors'));
  }
  cpSync(join(ROOT, 'samples', 'text', 'john-1.txt'), join(workspace, 'text', 'john-1.txt'));
  mkdirSync(join(workspace, '.vscode'));
  writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({
    'importanceLens.sampleTextFile': 'text/john-1.txt',
    'importanceLens.maxTokens': 256,
  }, null, 2));
  return workspace;
}

/**
 * Runs in the webview's document: records every progress line the layers section shows, in order, so the test
 * sees the steps however fast the blocks go (a mutation callback runs once per host message). A function, not a
 * string: Playwright evaluates a string as an expression and would not call it.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- runs in the browser, where the DOM types live
function recordProgress(body: any): void {
  const seen: string[] = [];
  const page = globalThis as unknown as { __progressSeen: string[]; MutationObserver: new (callback: () => void) => { observe(target: unknown, options: object): void } };
  page.__progressSeen = seen;
  const read = () => {
    const line = body.querySelector('section.layers-on-text .job-running p');
    const text: string | null = line ? line.textContent : null;
    if (text && seen[seen.length - 1] !== text) seen.push(text);
  };
  new page.MutationObserver(read).observe(body, { subtree: true, childList: true, characterData: true });
}

test(`${SHAPE}-shaped checkpoint: folder -> Analyze Importance -> layer importance on text shows progress per block, then ${BLOCKS} bars`, { timeout: 600_000 }, async (t) => {
  const generated = performance.now();
  const model = cachedModel();
  t.diagnostic(`model folder ${model} ready in ${((performance.now() - generated) / 1000).toFixed(1)} s`);
  const workspace = realShapeWorkspace(model);
  const page = await openWorkbench(t, workspace, { viewport: { width: 1400, height: 1000 } });
  const webview = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  const section = webview.locator('section.layers-on-text');
  try {
    await explorerMenu(page, SHAPE, 'Analyze Importance');
    await webview.getByRole('tab', { name: 'Layers' }).click({ timeout: 120_000 });
    assert.match(await section.innerText({ timeout: 60_000 }), /on john-1\.txt/);

    await webview.locator('body').evaluate(recordProgress);
    const started = performance.now();
    await section.getByRole('button', { name: 'Compute' }).click({ timeout: 60_000 });
    // A block's step in the panel while the engine runs ("Window 1/1: block 7 / 24, 1.9 s (27%)"), photographed
    // when it is still there to see: a fast machine may finish first, so the step or the result is waited for (the
    // lines recordProgress kept are what is asserted on).
    const step = section.locator('.job-running p', { hasText: new RegExp(`block \\d+ / ${BLOCKS}, [\\d.]+ s`) });
    await step.or(section.locator('.metric-definition')).first().waitFor({ timeout: 180_000 });
    await page.screenshot({ path: join(SCREENSHOTS, 'real-shape-progress.png') });

    await section.locator('.metric-definition').waitFor({ timeout: 300_000 });
    const seconds = (performance.now() - started) / 1000;
    const seen = await webview.locator('body').evaluate(() => (globalThis as unknown as { __progressSeen: string[] }).__progressSeen);
    t.diagnostic(`layer importance on text: ${seconds.toFixed(1)} s; progress lines: ${JSON.stringify(seen)}`);
    // Block steps reached the panel while it ran, each naming the block out of 24 and the seconds so far. The
    // analysis process sends at most one progress message a second, so on a fast machine not every block's step is
    // shown: the ones seen are in order within each pass over the model (the metric's, then the perplexity's).
    const steps = seen.map((line) => /block (\d+) \/ (\d+), [\d.]+ s/.exec(line)).filter((m) => m !== null).map((m) => [Number(m[1]), Number(m[2])] as const);
    assert.ok(steps.length > 0, `no block step was shown: ${JSON.stringify(seen)}`);
    assert.ok(steps.every(([block, total]) => total === BLOCKS && block >= 1 && block <= BLOCKS), `block N / ${BLOCKS}: ${JSON.stringify(seen)}`);
    const passes = steps.filter(([block], i) => i > 0 && block < steps[i - 1]![0]).length + 1;
    assert.ok(passes <= 2, `the steps go forward within each of the two passes: ${JSON.stringify(seen)}`);

    // The result: Block Influence, 256 tokens of the text, 24 bars with a value and a rank each.
    assert.match(await section.locator('.metric-definition').innerText(), /^Block Influence = 1 − mean/);
    assert.match(await section.innerText(), /device \S+ · 256 tokens in 1 window \(the text was cut at importanceLens\.maxTokens\) · rank 1 = most important/);
    assert.match(await section.locator('.perplexity').innerText(), /perplexity\s+[\d.,]+/);
    const rows = webview.locator('.layer-row');
    assert.equal(await rows.count(), BLOCKS);
    const bars = (await webview.locator('.layer-rows').textContent()) ?? '';
    for (let rank = 1; rank <= BLOCKS; rank++) assert.match(bars, new RegExp(`· #${rank}(?!\\d)`), `rank ${rank} among the bars`);
  } finally {
    await page.screenshot({ path: join(SCREENSHOTS, 'real-shape-layers.png') });
  }
});
