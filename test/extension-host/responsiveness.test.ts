// Inside a real VS Code: a long analysis runs in the analysis process, so the extension host keeps answering while
// it runs, and a cancel ends it promptly. The analysis is started through the API activate() returns, which is
// the same service (and child process) the panels use.
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { ImportanceLensApi } from '../../src/vscode/shared/api';
import { analysisProcessesUnder, holdAnalysis } from '../harness/processes';
import { awaitWithin, EXTENSION_ID } from './helpers';

const SIDE = 4096;
const TENSORS = 4; // 4 × 4096² F32 = 256 MiB: whole-tensor statistics plus stable rank by power iteration

/** A safetensors file written in chunks (the whole file never sits in memory), per the spec's layout. */
function writeLargeCheckpoint(path: string): void {
  const bytesPerTensor = SIDE * SIDE * 4;
  const header: Record<string, unknown> = {};
  for (let i = 0; i < TENSORS; i++) {
    header[`model.layers.${i}.mlp.down_proj.weight`] = { dtype: 'F32', shape: [SIDE, SIDE], data_offsets: [i * bytesPerTensor, (i + 1) * bytesPerTensor] };
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const chunk = new Float32Array(1 << 20);
  let state = 12345;
  for (let i = 0; i < chunk.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    chunk[i] = (state / 2 ** 32 - 0.5) * 0.04;
  }
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, length);
    writeSync(fd, json);
    const bytes = Buffer.from(chunk.buffer);
    for (let written = 0; written < TENSORS * bytesPerTensor; written += bytes.length) writeSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

describe('a long analysis in a real VS Code', function () {
  this.timeout(120_000);
  let dir: string;
  let checkpoint: string;
  let api: ImportanceLensApi;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'il-large-'));
    checkpoint = join(dir, 'large.safetensors');
    writeLargeCheckpoint(checkpoint);
    api = await vscode.extensions.getExtension<ImportanceLensApi>(EXTENSION_ID)!.activate();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * Starts weight statistics of the large file; `started` resolves at the analysis' first progress report, and
   * rejects, saying so, when the analysis ends before any (or none comes within the deadline), instead of leaving
   * the test to run into mocha's limit without saying what it waited for.
   */
  function startStats(signal?: AbortSignal) {
    let onStarted: () => void = () => undefined;
    const progressed = new Promise<void>((resolve) => (onStarted = resolve));
    const state = { finished: false };
    const run = api.runAnalysis({ analysis: 'stats', path: checkpoint }, { signal, onProgress: () => onStarted() });
    void run.then(() => (state.finished = true), () => (state.finished = true));
    const endedFirst = run.then(
      () => Promise.reject(new Error('the statistics finished before their first progress report')),
      (error: unknown) => Promise.reject(new Error(`the statistics failed before their first progress report: ${String(error)}`)),
    );
    const started = awaitWithin('the first progress report of weight statistics of 256 MiB', Promise.race([progressed, endedFirst]));
    return { run, started, state };
  }

  it('keeps the extension host answering commands while weight statistics of 256 MiB run', async () => {
    const { run, started, state } = startStats();
    await started;
    // The analysis is held in flight while the commands run, so a fast machine finishing 256 MiB before a round trip
    // cannot fail this (CI did once): the work runs in a separate process, which the host can pause and resume.
    assert.ok(analysisProcessesUnder(process.pid).length > 0, 'the analysis runs in a process of its own, forked by the extension host');
    const resume = holdAnalysis(process.pid);
    try {
      // A workbench command (a round trip to the renderer and back) and one of the extension's own.
      await vscode.commands.executeCommand('setContext', 'importanceLens.testProbe', true);
      const commands = await vscode.commands.getCommands(true);
      assert.ok(commands.includes('importanceLens.compareWithBase'));
      assert.equal(state.finished, false, 'the commands answered while the analysis was in flight');
    } finally {
      resume();
    }
    const outcome = await run;
    assert.equal(outcome.result.tensors.length, TENSORS);
    assert.ok(outcome.result.tensors.every((t) => t.count === SIDE * SIDE && t.l2 !== null && t.l2 > 0));
    assert.equal(typeof outcome.result.device, 'string');
  });

  it('ends the analysis within 2 s of a cancel', async () => {
    const controller = new AbortController();
    const { run, started } = startStats(controller.signal);
    await started;
    // Held while the cancel is sent, so a fast machine cannot finish the analysis before the cancel reaches it: the
    // cancel is in the process' pipe before the process takes another step.
    const resume = holdAnalysis(process.pid);
    const cancelledAt = Date.now();
    try {
      controller.abort();
    } finally {
      resume();
    }
    const error = await run.then(() => undefined, (e: unknown) => e);
    const elapsed = Date.now() - cancelledAt;
    assert.ok(error instanceof Error && error.name === 'CancelledError', `rejected with a CancelledError (got ${String(error)})`);
    // The client kills an analysis process that ignores a cancel after 2 s; ending sooner means the analysis itself
    // stopped between chunks of work.
    assert.ok(elapsed < 2000, `ended ${elapsed} ms after the cancel`);
  });
});
