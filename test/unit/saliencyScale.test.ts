// The diverging colour scale shared by the editor decorations and the saliency view.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatScore, saliencyColour, saliencyLevel, saliencyRange } from '../../src/protocol/saliencyScale';

test('levels: sign is the direction, magnitude the share of the largest |score| in about fivefold steps', () => {
  assert.equal(saliencyLevel(1, 1), 3);
  assert.equal(saliencyLevel(-1, 1), -3);
  assert.equal(saliencyLevel(0.5, 1), 3);
  assert.equal(saliencyLevel(0.3, 1), 2);
  assert.equal(saliencyLevel(-0.1, 1), -1);
  assert.equal(saliencyLevel(0.02, 1), 0, 'under 3% of the largest is negligible');
  assert.equal(saliencyLevel(1, 0), 0, 'an all-zero result colours nothing');
  assert.equal(saliencyLevel(Number.NaN, 1), 0);
});

test('colours: none at 0, one hue per direction, stronger with the level', () => {
  assert.equal(saliencyColour(0), null);
  const alpha = (c: string | null) => Number(/, ([\d.]+)\)$/.exec(c ?? '')?.[1]);
  assert.ok(alpha(saliencyColour(1)) < alpha(saliencyColour(2)) && alpha(saliencyColour(2)) < alpha(saliencyColour(3)));
  assert.notEqual(saliencyColour(2)!.replace(/, [\d.]+\)$/, ''), saliencyColour(-2)!.replace(/, [\d.]+\)$/, ''));
});

test('range ignores non-finite scores; scores print with their sign and sd', () => {
  assert.equal(saliencyRange([{ score: -2 }, { score: 1 }, { score: Number.POSITIVE_INFINITY }]), 2);
  assert.equal(formatScore(0.31456, 0.1842), '+0.315 ± 0.184');
  assert.equal(formatScore(-0.714, 0), '-0.714 ± 0');
});
