// What the extension's status bar, output channel and workspace-trust check rely on in the worker client: job
// start/end events with wall times, the list of running jobs, cancel by job id, and an admission check that
// refuses a request before any process is forked.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { CancelledError, InputError } from '../../src/errors';
import type { AnalysisRequest } from '../../src/protocol/worker';
import { AnalysisWorkerClient, type JobEvent } from '../../src/worker/client';
import { expectedDevice, requestSummary, resultSize } from '../../src/worker/jobSummary';
import { DIST, ROOT, SAMPLE_DIR } from './helpers';

test('each job is announced when it starts and when it ends, with its wall time and outcome', async (t) => {
  const events: JobEvent[] = [];
  const client = new AnalysisWorkerClient(join(DIST, 'worker.js'), { onJob: (e) => events.push(e) });
  t.after(() => client.dispose());
  const pending = client.run({ analysis: 'inspect', path: SAMPLE_DIR });
  assert.deepEqual(client.running.map((j) => j.request), [{ analysis: 'inspect', path: SAMPLE_DIR }]);
  await pending;
  await assert.rejects(client.run({ analysis: 'inspect', path: '/no/such/model' }), InputError);
  assert.deepEqual(events.map((e) => e.type), ['started', 'ended', 'started', 'ended']);
  const [, first, , second] = events as [JobEvent, Extract<JobEvent, { type: 'ended' }>, JobEvent, Extract<JobEvent, { type: 'ended' }>];
  assert.ok('result' in first.outcome && first.outcome.result.analysis === 'inspect');
  assert.ok(first.wallMs >= 0);
  assert.ok('error' in second.outcome && /no such file/.test(second.outcome.error.message));
  assert.equal(client.running.length, 0);
});

test('cancel(id) stops a job as its AbortSignal would; an unknown id is refused', async (t) => {
  const events: JobEvent[] = [];
  const client = new AnalysisWorkerClient(join(ROOT, 'test', 'fixtures', 'unresponsiveWorker.js'), { cancelGraceMs: 100, onJob: (e) => events.push(e) });
  t.after(() => client.dispose());
  const pending = client.run({ analysis: 'inspect', path: SAMPLE_DIR });
  const [job] = client.running;
  assert.equal(client.cancel(job!.id), true);
  assert.equal(client.cancel(job!.id + 100), false);
  await assert.rejects(pending, CancelledError);
  assert.equal(client.running.length, 0, 'the job is no longer listed once it has ended');
  const ended = events.find((e) => e.type === 'ended');
  assert.ok(ended && 'error' in ended.outcome && ended.outcome.error instanceof CancelledError);
});

test('a refused admission rejects with its reason before any process is forked or job announced', async (t) => {
  const events: JobEvent[] = [];
  const seen: string[] = [];
  const client = new AnalysisWorkerClient(join(DIST, 'worker.js'), {
    onJob: (e) => events.push(e),
    admit: (request) => {
      seen.push(request.analysis);
      if (request.analysis === 'perplexity') throw new InputError('not in restricted mode');
    },
  });
  t.after(() => client.dispose());
  await assert.rejects(client.run({ analysis: 'perplexity', model: SAMPLE_DIR, text: { text: 'x' } }), /not in restricted mode/);
  assert.equal(client.pid, undefined);
  assert.equal(events.length, 0);
  const outcome = await client.run({ analysis: 'inspect', path: SAMPLE_DIR });
  assert.equal(outcome.analysis, 'inspect');
  assert.deepEqual(seen, ['perplexity', 'inspect']);
});

test('job summaries for the log: long strings cut, result size as the lengths of its lists', () => {
  const text = 'x'.repeat(500);
  assert.equal(
    requestSummary({ analysis: 'saliency', model: '/m', text: { text }, method: 'occlusion', seeds: 1 }),
    `{"analysis":"saliency","model":"/m","text":{"text":"${'x'.repeat(80)}… (500 chars)"},"method":"occlusion","seeds":1}`,
  );
  const layers = { metric: 'weight-l2', device: 'cpu', path: '/m', layers: [{ index: 0, score: 1, rank: 1, params: 2 }], warnings: [] };
  assert.equal(resultSize({ analysis: 'layers', result: layers }), 'layers 1');
  assert.equal(resultSize({ analysis: 'layers', result: { ...layers, warnings: ['w'] } }), 'layers 1, warnings 1');
  assert.equal(resultSize({ analysis: 'perplexity', result: { path: '/m', device: 'cpu', tokens: 9, predicted: 8, windows: 1, truncated: false, nll: 1, perplexity: 2.7, devicesSkipped: [], warnings: [] } }), 'tokens 9, predicted 8, windows 1, nll 1, perplexity 2.7');
});

test('the device a running job is expected on: where the same providers last ran, else the first that can start here', () => {
  const stats: AnalysisRequest = { analysis: 'stats', path: '/m', providers: ['cpu'] };
  assert.deepEqual(expectedDevice(stats, new Map()), { device: 'cpu', sure: true });
  assert.deepEqual(expectedDevice({ ...stats, providers: ['webgpu', 'cpu'] }, new Map([['webgpu,cpu', 'cpu']])), { device: 'cpu', sure: true });
  const guess = expectedDevice({ ...stats, providers: ['cuda', 'webgpu', 'cpu'] }, new Map());
  assert.ok(guess !== null && ['cuda', 'webgpu', 'cpu'].includes(guess.device) && guess.sure === (guess.device === 'cpu'));
  assert.equal(expectedDevice({ analysis: 'inspect', path: '/m' }, new Map()), null, 'a header read names no device');
  assert.equal(expectedDevice({ ...stats, providers: ['tpu'] }, new Map()), null);
});
