// `report FILE.csv` opened from disk in Chromium: the Dataset view renders offline (profile, column importance
// bars, or DSIR rows), with no errors and no network requests.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { launchBrowser, ROOT } from '../harness/codeServer';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'csv');

test('the HTML report of a CSV renders the Dataset view offline: column importance, and DSIR rows', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'il-csv-report-'));
  const browser = await launchBrowser();
  t.after(async () => {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const cli = (...args: string[]) => execFileSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'report', ...args]);
  const columns = join(dir, 'wine.html');
  cli(join(FIXTURES, 'wine.csv'), '--target', 'cultivar', '--out', columns);
  const target = join(dir, 'target.txt');
  writeFileSync(target, 'lateral buoy marking the channel\nlight vessel anchored offshore\n');
  const rows = join(dir, 's57.html');
  cli(join(FIXTURES, 's57objectclasses.csv'), '--text-column', 'ObjectClass', '--target-file', target, '--out', rows);

  const page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(`file://${columns}`);
  await page.locator('table.dataset-columns tr.row').nth(13).waitFor();
  assert.equal(await page.locator('.importance-charts svg.bars').count(), 2);
  assert.match(await page.locator('.importance-charts svg.bars').first().textContent() ?? '', /^flavanoids/);
  assert.match(await page.locator('.importance-facts').innerText(), /target\s+cultivar/);
  mkdirSync(join(ROOT, 'test-output', 'ui'), { recursive: true });
  await page.screenshot({ path: join(ROOT, 'test-output', 'ui', 'csv-report.png') });

  await page.goto(`file://${rows}`);
  await page.locator('table.weighted-rows').first().locator('tr.row').nth(24).waitFor();
  assert.equal(await page.locator('table.weighted-rows tr.clickable').count(), 0, 'no editor to reveal lines in');
  assert.match(await page.locator('table.weighted-rows').first().locator('tr.row').first().innerText(), /^\d+\s+[-\d.e]+\s+\S/);
  assert.deepEqual(errors, []);
  assert.deepEqual(requests.filter((url) => !url.startsWith('file://')), [], 'self-contained: no network requests');
});
