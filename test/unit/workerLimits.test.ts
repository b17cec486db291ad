// The analysis process's bounds, through the client the extension uses: a cancelled job that will not stop (stuck
// in I/O, or spinning) fails alone, its neighbours finish or restart; a request sent right after a kill goes to a
// fresh process; a job that sends nothing for the stall limit is stopped with a clear error; a full heap is
// reported as such. test/fixtures/scriptedWorker.js plays the jobs.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { CancelledError, InputError } from '../../src/errors';
import type { AnalysisRequest } from '../../src/protocol/worker';
import { AnalysisWorkerClient } from '../../src/worker/client';
import { JobStalledError, WorkerOutOfMemoryError } from '../../src/worker/limits';
import { DIST, processGone, ROOT } from './helpers';

const SCRIPTED = join(ROOT, 'test', 'fixtures', 'scriptedWorker.js');
const job = (path: string): AnalysisRequest => ({ analysis: 'inspect', path });
/** The pid the scripted worker reports in a result. */
const pidOf = (outcome: unknown) => (outcome as { result: { pid: number } }).result.pid;
/** Forks the client's process and waits until it answers, so the timings below do not include a slow start. */
async function started(client: AnalysisWorkerClient): Promise<number> {
  return pidOf(await client.run(job('warm-up')));
}

test('cancelling a job stuck in I/O fails only that job: its neighbour finishes in the same process', async (t) => {
  const client = new AnalysisWorkerClient(SCRIPTED, { cancelGraceMs: 400 });
  t.after(() => client.dispose());
  const pid = await started(client);
  const controller = new AbortController();
  const stuck = client.run(job('stuck'), { signal: controller.signal });
  const neighbour = client.run(job('slow'));
  controller.abort();
  await assert.rejects(stuck, CancelledError);
  const outcome = await neighbour;
  assert.equal(pidOf(outcome), pid, 'the neighbour was not restarted: it finished where it ran');
  await processGone(pid, 'the retired process, killed once its last job is done');
});

test('a retired process whose remaining job stalls too is killed once that job is given up', async (t) => {
  const client = new AnalysisWorkerClient(SCRIPTED, { cancelGraceMs: 300, stallMs: 1500 });
  t.after(() => client.dispose());
  const pid = await started(client);
  const controller = new AbortController();
  const first = client.run(job('stuck'), { signal: controller.signal });
  const second = client.run(job('stuck'));
  controller.abort();
  await assert.rejects(first, CancelledError);
  await assert.rejects(second, JobStalledError);
  await processGone(pid, 'no process is left behind');
});

test('a request sent right after a kill goes to a fresh process and succeeds', async (t) => {
  const client = new AnalysisWorkerClient(SCRIPTED, { cancelGraceMs: 100 });
  t.after(() => client.dispose());
  const controller = new AbortController();
  const stuck = client.run(job('stuck'), { signal: controller.signal });
  const pid = client.pid!;
  controller.abort();
  await assert.rejects(stuck, CancelledError);
  // No wait for the exit event: the killed process is still dying.
  const outcome = await client.run(job('next'));
  assert.notEqual(pidOf(outcome), pid);
});

test('when the cancelled job blocks its whole process, the neighbour restarts from scratch on a fresh one', async (t) => {
  const logs: string[] = [];
  const client = new AnalysisWorkerClient(SCRIPTED, { cancelGraceMs: 300, stallMs: 20_000, log: (l) => logs.push(l) });
  t.after(() => client.dispose());
  const pid = await started(client);
  const neighbour = client.run(job('other'));
  const controller = new AbortController();
  const blocking = client.run(job('block'), { signal: controller.signal });
  // Once the spin has surely begun (it starts right after the request arrives).
  setTimeout(() => controller.abort(), 200);
  await assert.rejects(blocking, CancelledError);
  const outcome = await neighbour;
  assert.notEqual(pidOf(outcome), pid);
  assert.match(logs.join('\n'), /restarts on a new analysis process/);
  await processGone(pid, 'the analysis process');
});

test('a job that sends nothing for the stall limit fails with a clear error; a neighbour sending progress survives', async (t) => {
  const client = new AnalysisWorkerClient(SCRIPTED, { stallMs: 600 });
  t.after(() => client.dispose());
  await started(client);
  const stuck = client.run(job('stuck'));
  const slow = client.run(job('slow'));
  await assert.rejects(stuck, (e: unknown) => e instanceof JobStalledError && e instanceof InputError
    && /^inspect of stuck made no progress for 600 ms and was stopped \(the analysis process was restarted\); .*check the input and run it again$/.test(e.message));
  assert.equal(pidOf(await slow) > 0, true, 'progress every 100 ms kept the slow job alive past 600 ms');
  assert.equal(pidOf(await client.run(job('after'))) > 0, true);
});

test('the process runs under a heap limit, and dying of it fails the job with that limit and what to try', async (t) => {
  const client = new AnalysisWorkerClient(SCRIPTED, { heapLimitMb: 48 });
  t.after(() => client.dispose());
  await assert.rejects(client.run(job('/data/hog')), (e: unknown) => e instanceof WorkerOutOfMemoryError && e instanceof InputError
    && e.message === 'the analysis process ran out of memory (limit 48 MB) while running inspect of hog; try a smaller checkpoint, or fewer analyses at once');
  assert.equal(pidOf(await client.run(job('after'))) > 0, true, 'the next job gets a new process');
});

test('the real analysis process answers a ping (the client asks before deciding its other jobs can finish)', async () => {
  const child = fork(join(DIST, 'worker.js'), [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'advanced' });
  try {
    const pong = await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', () => reject(new Error('worker exited')));
      child.send({ type: 'ping', id: 7 });
    });
    assert.deepEqual(pong, { type: 'pong', id: 7 });
  } finally {
    child.kill();
  }
});
