// Cancel through the analysis process on a model whose block runs are long: onnxruntime-node runs a session
// synchronously on the process's main thread, so a cancel sent while a block runs cannot even be read until the run
// ends; the client ends the process after CANCEL_GRACE_MS instead, and the next job gets a fresh one. The job must end
// as cancelled, well before it would have finished; the bound asserted is generous (this 2-core machine is shared).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CancelledError } from '../../src/errors';
import { AnalysisWorkerClient, CANCEL_GRACE_MS } from '../../src/worker/client';
import { llama7bConfig, tinyConfig, writeModelFolder } from '../fixtures/realShapes';
import { DIST, processGone, ROOT, SAMPLE_DIR, tempDir } from './helpers';

test('a cancel during a long block run ends the job as cancelled, and the next job runs on a fresh process', { timeout: 120_000 }, async (t) => {
  // Llama-2's layout at hidden 768, MLP 3072, 6 blocks (113 MB of BF16): seconds per block on 2 048 tokens.
  const model = join(tempDir(), 'model');
  writeModelFolder(model, { config: { ...tinyConfig(llama7bConfig()), num_hidden_layers: 6, hidden_size: 768, intermediate_size: 3072, num_attention_heads: 12, num_key_value_heads: 12 } });
  const text = readFileSync(join(ROOT, 'samples', 'text', 'john-1.txt'), 'utf8').repeat(8);
  const logs: string[] = [];
  const client = new AnalysisWorkerClient(join(DIST, 'worker.js'), { log: (l) => logs.push(l) });
  t.after(() => client.dispose());

  const controller = new AbortController();
  const steps: string[] = [];
  let abortedAt = 0;
  let pid: number | undefined;
  const job = client.run({ analysis: 'perplexity', model, text: { text }, maxTokens: 2048, providers: ['cpu'] }, {
    signal: controller.signal,
    onProgress: (p) => {
      steps.push(p.message);
      // The first block step that reaches us (at most one progress a second): the process is now inside (or
      // entering) the next block's run.
      if (!abortedAt && /block [1-5] \/ 6/.test(p.message)) {
        pid = client.pid;
        abortedAt = Date.now();
        controller.abort();
      }
    },
  });
  await assert.rejects(job, CancelledError);
  const latency = Date.now() - abortedAt;
  t.diagnostic(`cancel took effect after ${latency} ms (grace ${CANCEL_GRACE_MS} ms); steps seen: ${JSON.stringify(steps)}; ${logs.filter((l) => /did not stop/.test(l)).join(' ')}`);
  assert.ok(abortedAt > 0, `no block step came: ${JSON.stringify(steps)}`);
  assert.ok(latency < 10_000, `cancel took ${latency} ms`);
  if (logs.some((l) => /did not stop within/.test(l))) {
    // Ended by the client: the process is gone (it held no other job).
    await processGone(pid!, 'the process running the block');
  }
  const next = await client.run({ analysis: 'inspect', path: SAMPLE_DIR });
  assert.equal(next.analysis, 'inspect');
});
