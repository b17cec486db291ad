// The CLI's HTML report, opened from disk in Chromium as a user would: renders the same views, with no errors.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { launchBrowser, ROOT } from '../harness/codeServer';

test('the HTML report renders the checkpoint summary offline in a browser', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'il-report-'));
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const out = join(dir, 'report.html');
  execFileSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'report', join(ROOT, 'samples', 'tiny-llama-random'), '--out', out]);
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(`file://${out}`);
  assert.match(await page.locator('.arch-grid').first().innerText(), /family\s+llama/);
  await page.getByRole('tab', { name: 'Tensors' }).click();
  await page.locator('table.tensors tr.tensor').nth(38).waitFor();
  assert.equal(await page.locator('table.tensors tr.tensor').count(), 39);
  assert.deepEqual(errors, []);
  assert.deepEqual(requests.filter((url) => !url.startsWith('file://')), [], 'self-contained: no network requests');
});
