// The analysis process's progress throttle (src/worker/throttle.ts): at most one message per interval, and the last
// step of a burst is held and sent when the interval ends, not dropped ("block 24 / 24" reaches the panel).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trailingThrottle } from '../../src/worker/throttle';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a burst of steps sends the first at once and the last when the interval ends; the ones between are dropped', async () => {
  const sent: { value: string; at: number }[] = [];
  const start = Date.now();
  const throttle = trailingThrottle((value: string) => sent.push({ value, at: Date.now() - start }), 100);
  for (const step of ['block 1 / 3', 'block 2 / 3', 'block 3 / 3']) throttle.push(step);
  assert.deepEqual(sent.map((s) => s.value), ['block 1 / 3']);
  await sleep(250);
  assert.deepEqual(sent.map((s) => s.value), ['block 1 / 3', 'block 3 / 3']);
  assert.ok(sent[1]!.at - sent[0]!.at >= 95, `at most one a interval: ${JSON.stringify(sent)}`);
  throttle.push('head 1 / 1'); // the interval has passed: sent at once
  assert.equal(sent.at(-1)!.value, 'head 1 / 1');
  throttle.stop();
});

test('stop drops a held step: nothing is sent after the job ended', async () => {
  const sent: string[] = [];
  const throttle = trailingThrottle((value: string) => sent.push(value), 50);
  throttle.push('block 1 / 2');
  throttle.push('block 2 / 2');
  throttle.stop();
  await sleep(120);
  assert.deepEqual(sent, ['block 1 / 2']);
});
