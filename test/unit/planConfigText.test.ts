// The pruned config.json keeps the original's text where the plan changes nothing: a diff shows only the plan.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { plannedConfigText } from '../../src/plan/configText';
import { ROOT } from './helpers';

const changedLines = (a: string, b: string) => {
  const x = a.split('\n');
  const y = b.split('\n');
  return y.map((line, i) => [x[i], line]).filter(([p, q]) => p !== q);
};

test('changed values are rewritten in place; numbers elsewhere keep their spelling', () => {
  const original = readFileSync(join(ROOT, 'samples', 'tiny-llama-kjv', 'config.json'), 'utf8');
  const before = JSON.parse(original);
  const text = plannedConfigText(original, before, { ...before, num_hidden_layers: 3 });
  assert.deepEqual(changedLines(original, text), [['  "num_hidden_layers": 4,', '  "num_hidden_layers": 3,']]);
  assert.match(text, /"rms_norm_eps": 1e-05,/);
  assert.match(text, /"rope_theta": 10000\.0,/);
});

test('per-layer lists are re-indented, new keys go last, and the text always parses to the planned config', () => {
  const original = '{\n    "n_layer": 3,\n    "layer_types": ["full", "sliding", "full"],\n    "eps": 1e-06\n}\n';
  const before = JSON.parse(original);
  const after = { ...before, n_layer: 2, layer_types: ['full', 'full'], head_dim: 16 };
  const text = plannedConfigText(original, before, after);
  assert.equal(text, '{\n    "n_layer": 2,\n    "layer_types": [\n      "full",\n      "full"\n    ],\n    "eps": 1e-06,\n    "head_dim": 16\n}\n');
  assert.deepEqual(JSON.parse(text), after);
  // Nested objects and strings with braces do not confuse the scan.
  const nested = '{"a": {"b": [1, {"c": "}]"}]}, "n": 1}';
  assert.deepEqual(JSON.parse(plannedConfigText(nested, JSON.parse(nested), { a: { b: [1, { c: '}]' }] }, n: 0 })), { a: { b: [1, { c: '}]' }] }, n: 0 });
  assert.match(plannedConfigText(nested, JSON.parse(nested), { a: { b: [1, { c: '}]' }] }, n: 0 }), /"n": 0\}$/);
  // A key removed (never done by plans) falls back to a fresh serialization.
  assert.equal(plannedConfigText(original, before, { n_layer: 1 }), '{\n  "n_layer": 1\n}\n');
});
