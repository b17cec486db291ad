// The analysis child process, driven through the same client the extension uses.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { CancelledError, InputError } from '../../src/errors';
import { AnalysisWorkerClient, WorkerCrashedError } from '../../src/worker/client';
import { DIST, processGone, ROOT, SAMPLE_DIR } from './helpers';

const WORKER = join(DIST, 'worker.js');

test('runs inspect in a child process and returns the typed result', async (t) => {
  const client = new AnalysisWorkerClient(WORKER);
  t.after(() => client.dispose());
  const progress: string[] = [];
  const outcome = await client.run({ analysis: 'inspect', path: SAMPLE_DIR }, { onProgress: (p) => progress.push(p.message) });
  assert.equal(outcome.analysis, 'inspect');
  assert.equal(outcome.result.tensors.length, 39);
  assert.notEqual(client.pid, process.pid);
  assert.ok(progress.length >= 1, 'progress reached the host');
});

test('bad input comes back as InputError, and the process stays up for the next job', async (t) => {
  const client = new AnalysisWorkerClient(WORKER);
  t.after(() => client.dispose());
  await assert.rejects(client.run({ analysis: 'inspect', path: '/no/such/model' }), (e: unknown) => e instanceof InputError && /no such file/.test(e.message));
  const pid = client.pid;
  await client.run({ analysis: 'inspect', path: SAMPLE_DIR });
  assert.equal(client.pid, pid);
});

test('a crash fails the running job and the next job gets a new process', async (t) => {
  const client = new AnalysisWorkerClient(WORKER);
  t.after(() => client.dispose());
  await client.run({ analysis: 'inspect', path: SAMPLE_DIR });
  const first = client.pid!;
  const pending = client.run({ analysis: 'inspect', path: SAMPLE_DIR });
  process.kill(first, 'SIGKILL');
  await pending.then(
    () => assert.ok(true, 'the job finished before the kill landed'),
    (error: unknown) => assert.ok(error instanceof WorkerCrashedError, String(error)),
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  const outcome = await client.run({ analysis: 'inspect', path: SAMPLE_DIR });
  assert.equal(outcome.result.parameters > 0, true);
  assert.notEqual(client.pid, first);
});

test('a cancel that is not honoured kills the process after the grace period', async (t) => {
  const logs: string[] = [];
  const client = new AnalysisWorkerClient(join(ROOT, 'test', 'fixtures', 'unresponsiveWorker.js'), { cancelGraceMs: 200, log: (l) => logs.push(l) });
  t.after(() => client.dispose());
  const controller = new AbortController();
  const pending = client.run({ analysis: 'inspect', path: SAMPLE_DIR }, { signal: controller.signal });
  const pid = client.pid!;
  setTimeout(() => controller.abort(), 20);
  await assert.rejects(pending, CancelledError);
  await processGone(pid, 'the unresponsive process');
  assert.match(logs.join('\n'), /did not stop within 200 ms/);
});

test('an already-aborted signal rejects without starting work', async (t) => {
  const client = new AnalysisWorkerClient(WORKER);
  t.after(() => client.dispose());
  await assert.rejects(client.run({ analysis: 'inspect', path: SAMPLE_DIR }, { signal: AbortSignal.abort() }), CancelledError);
  assert.equal(client.pid, undefined, 'no process was forked');
});
