// Spearman's ρ of the Layers view's rank-agreement strip against scipy.stats.spearmanr (Debian's python3-scipy).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { seededRandom } from '../../src/compute/random';
import { averageRanks, pairwiseAgreement, spearman } from '../../webview/rankAgreement';
import { needsReference, PYTHON } from './helpers';

test('spearman equals scipy.stats.spearmanr, ties included', (t) => {
  if (!needsReference(t, ['scipy'])) return;
  const random = seededRandom(5);
  const cases: [number[], number[]][] = [
    [[1, 2, 3, 4, 5], [5, 6, 7, 8, 7]],
    [[0.1, 0.4, 0.4, 0.2, 0.9, 0.9, 0.9], [3, 1, 2, 2, 5, 4, 4]],
    [Array.from({ length: 100 }, () => random()), Array.from({ length: 100 }, () => Math.round(random() * 10))],
  ];
  const script = 'import json,sys\nfrom scipy.stats import spearmanr\nprint(json.dumps([float(spearmanr(a,b).statistic) for a,b in json.loads(sys.argv[1])]))';
  const expected = JSON.parse(execFileSync(PYTHON, ['-c', script, JSON.stringify(cases)], { encoding: 'utf8' })) as number[];
  cases.forEach(([a, b], i) => {
    const rho = spearman(a, b)!;
    assert.ok(Math.abs(rho - expected[i]!) < 1e-12, `case ${i}: ${rho} vs scipy ${expected[i]}`);
  });
});

test('average ranks, undefined ρ for constant series, pairs over the layers both metrics score', () => {
  assert.deepEqual(averageRanks([10, 30, 20, 30]), [1, 3.5, 2, 3.5]);
  assert.equal(spearman([1, 1, 1], [1, 2, 3]), null);
  assert.equal(spearman([1], [2]), null);
  const pairs = pairwiseAgreement([
    { key: 'a', label: 'A', scores: new Map([[0, 1], [1, 2], [2, 3], [3, 4]]) },
    { key: 'b', label: 'B', scores: new Map([[1, 9], [2, 8], [3, 7]]) },
  ]);
  assert.equal(pairs.length, 1);
  assert.equal(pairs[0]!.layers, 3);
  assert.equal(pairs[0]!.rho, -1);
});
