// The format registry is the one place a checkpoint format is declared: what package.json contributes (the custom
// editor's file patterns) and what the open dialog offers must follow it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CHECKPOINT_FORMATS, openDialogFilters, SUPPORTED_FORMATS } from '../../src/formats/registry';
import { ROOT } from './helpers';

test('the custom editor opens exactly the formats the registry marks for it', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { contributes: { customEditors: { viewType: string; selector: { filenamePattern: string }[] }[] } };
  const editor = manifest.contributes.customEditors.find((e) => e.viewType === 'importanceLens.checkpoint')!;
  const declared = editor.selector.map((s) => s.filenamePattern).sort();
  const registered = CHECKPOINT_FORMATS.filter((f) => f.customEditor).flatMap((f) => f.extensions.map((e) => `*.${e}`)).sort();
  assert.deepEqual(declared, registered);
});

test('the open dialog and the "supported" message list every registered extension', () => {
  const offered = openDialogFilters()['Checkpoints and configs']!;
  for (const format of CHECKPOINT_FORMATS) {
    for (const extension of format.extensions) {
      assert.ok(offered.includes(extension), `dialog offers .${extension}`);
      assert.ok(SUPPORTED_FORMATS.includes(`.${extension}`), `message names .${extension}`);
    }
  }
  assert.ok(offered.includes('json'), 'config.json and shard indexes');
});
