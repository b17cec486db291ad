// Steps the pruning-plan UI tests share: the QuickPicks of Plan Pruning, the plan document's tab and its CodeLens,
// and the fingerprint that shows a model folder was only read. One place, so a change of the plan UI (a label, a
// tab title) is followed in one file for every plan test.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

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
