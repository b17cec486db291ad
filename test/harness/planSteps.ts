// Steps the pruning-plan UI tests share: the QuickPicks of Plan Pruning, the plan document's tab and its CodeLens,
// and the fingerprint that shows a model folder was only read. One place, so a change of the plan UI (a label, a
// tab title) is followed in one file for every plan test.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT } from './codeServer';
import { explorerMenu, SCREENSHOTS } from './workbench';

/**
 * A fresh workspace with a copy of the sample tiny-llama-kjv, the Psalm 23 text as the sample text (CPU only), and a
 * stand-in for transformers' modeling_llama.py (not installed here) defining `classes`, which the plan panel links
 * its rows to. Side-by-side diffs, though the editor group is half the window (the screenshots show both sides).
 */
export function planWorkspace(prefix: string, classes: readonly string[]): { workspace: string; model: string } {
  const workspace = mkdtempSync(join(tmpdir(), prefix));
  const model = join(workspace, 'tiny-llama-kjv');
  cpSync(join(ROOT, 'samples', 'tiny-llama-kjv'), model, { recursive: true });
  cpSync(join(ROOT, 'samples', 'text', 'psalms-23.txt'), join(workspace, 'text', 'psalms-23.txt'));
  mkdirSync(join(workspace, '.vscode'));
  writeFileSync(join(workspace, 'modeling_llama.py'), `# The class names transformers' modeling_llama.py defines.\nimport torch.nn as nn\n${classes.map((c) => `\n\nclass ${c}(nn.Module):\n    pass\n`).join('')}`);
  writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({
    'importanceLens.sampleTextFile': 'text/psalms-23.txt', 'importanceLens.executionProviders': ['cpu'],
    'diffEditor.useInlineViewWhenSpaceIsLimited': false,
  }));
  return { workspace, model };
}

/**
 * Right-click the sample model folder -> Plan Pruning, and wait for the kind picker: the kinds come from the
 * analysis process (started on first use), so it appears once that answered. A screenshot `failure` on timeout.
 */
export async function openPlanPruning(page: Page, failure: string): Promise<void> {
  await explorerMenu(page, 'tiny-llama-kjv', 'Plan Pruning');
  await page.locator('.quick-input-widget', { hasText: 'Plan Pruning: tiny-llama-kjv (llama, 4 blocks)' }).waitFor({ timeout: 120_000 })
    .catch(async (error: unknown) => {
      await page.screenshot({ path: join(SCREENSHOTS, failure) });
      throw error;
    });
}

/** SHA-256 of every file of a model folder except the plans written into it: equal before and after = untouched. */
export function modelHashes(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).filter((n) => !n.endsWith('.pruneplan.json')).sort()
    .map((n) => [n, createHash('sha256').update(readFileSync(join(dir, n))).digest('hex')]));
}

/** Picks the QuickPick row whose label is exactly `label`. */
export async function pickLabel(page: Page, label: string): Promise<void> {
  const exact = new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  const row = page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: exact }) });
  await row.first().click({ timeout: 60_000 });
}

/**
 * Picks the QuickPick row whose description is exactly `description`: the metric picker's rows are described by
 * the metric's CLI name (ASCII), where the labels hold symbols such as Σ|W|.
 */
export async function pickDescription(page: Page, description: string): Promise<void> {
  const row = page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-description', { hasText: new RegExp(`^${description}$`) }) });
  await row.first().click({ timeout: 60_000 });
}

/**
 * The plan document's own tab. Its aria-label starts with the file name; "Plan: <plan>" (the panel) and
 * "config.json <-> planned (<plan>)" (the diff) also contain the name, so a text match could pick either of them.
 */
export const planTab = (page: Page, plan: string) => page.locator(`.tab[aria-label^="${plan}"]`);

/** The plan panel's tab ("Plan: <plan>"). */
export const planPanelTab = (page: Page, plan: string) => page.locator('.tab', { hasText: `Plan: ${plan}` }).first();

/** Clicks the plan document's CodeLens `title`, with the plan's editor active first: the panel beside it may have the focus. */
export async function planCodeLens(page: Page, plan: string, title: string): Promise<void> {
  await planTab(page, plan).click();
  await page.locator('.codelens-decoration a', { hasText: title }).first().click({ timeout: 30_000 });
}

/**
 * Waits for the notification that Apply wrote `folderName`, as a toast or, once the toast has gone, in the
 * notification centre; returns it (its buttons: Analyze Importance, Reveal in Explorer).
 */
export async function applyNotice(page: Page, folderName: string) {
  const notice = page.locator('.notification-list-item', { hasText: `wrote ${folderName}` }).first();
  if (!(await notice.waitFor({ timeout: 5_000 }).then(() => true, () => false))) {
    await page.locator('[id="status.notifications"]').click();
    await notice.waitFor();
  }
  return notice;
}
