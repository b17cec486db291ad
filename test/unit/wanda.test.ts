// layers --metric wanda against torch (test/fixtures/wanda/make_wanda_golden.py captured every linear layer's input
// in the plain-torch reference forward pass and computed the scores in float64).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { activationLayers } from '../../src/analyses/activationLayers';
import { ROOT } from './helpers';

const golden = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'wanda', 'wanda.golden.json'), 'utf8')) as { models: Record<string, { path: string; ids: number[]; wanda: number[] }> };

for (const [name, g] of Object.entries(golden.models)) {
  test(`${name}: Wanda per block matches torch`, async () => {
    const result = await drain(activationLayers({ model: join(ROOT, g.path), metric: 'wanda', text: { file: join(ROOT, 'samples', 'text', 'psalms-23.txt') }, maxTokens: g.ids.length, providers: ['cpu'] }));
    assert.equal(result.text?.tokens, g.ids.length);
    result.layers.forEach((l, i) => assert.ok(Math.abs(l.score - g.wanda[i]!) <= 1e-6 * g.wanda[i]!, `block ${i}: ${l.score} vs torch ${g.wanda[i]}`));
  });
}
