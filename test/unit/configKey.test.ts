import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topLevelKeyRange } from '../../src/arch/configKey';

test('topLevelKeyRange finds the top-level key, not a nested one, a value or an escaped look-alike', () => {
  const text = '{\n  "text_config": {"num_hidden_layers": 2},\n  "note": "\\"num_hidden_layers\\": 9",\n  "names": ["num_hidden_layers"],\n  "num_hidden_layers" : 4\n}';
  const range = topLevelKeyRange(text, 'num_hidden_layers')!;
  assert.equal(text.slice(range.start, range.end), '"num_hidden_layers"');
  assert.equal(text.slice(0, range.start).split('\n').length, 5, 'on line 5');
  assert.equal(topLevelKeyRange(text, 'hidden_size'), null);
  assert.equal(topLevelKeyRange('{"a": 1', 'a')?.start, 1, 'an unfinished file still finds its keys');
});
