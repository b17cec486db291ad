// Entry of a stats thread (node:worker_threads), started by statsPool.ts: it owns its own WebAssembly kernels and
// file handles, takes batches of tensors, and answers each batch with the tensors' statistics (simdTensorStats.ts,
// the same code the main thread runs with one thread). Bundled as dist/statsThread.js next to the other entries.
import { parentPort, workerData } from 'node:worker_threads';
import { errorKind, errorMessage } from '../errors';
import { simdTensorStats } from './simdTensorStats';
import { threadKernels } from './statsKernels';
import { FileHandles } from './tensorStream';
import type { ThreadData, ThreadReply, ThreadRequest } from './statsPool';

const port = parentPort;
if (port === null) throw new Error('statsThread.js runs as a worker thread (statsPool.ts starts it)');
const kernels = threadKernels();
const handles = new FileHandles();
/** How this thread reads (momentsPass.ts readsFor): chosen by the pool from its size. */
const reads = (workerData as ThreadData).reads;
// Batches arrive one at a time (the pool sends the next only after this one's reply): no overlap to guard.
port.on('message', (request: ThreadRequest) => {
  void (async () => {
    try {
      const results = [];
      for (const job of request.jobs) results.push(await simdTensorStats(job.tensor, job.matrix, kernels, handles, undefined, reads));
      port.postMessage({ id: request.id, results } satisfies ThreadReply);
    } catch (error) {
      port.postMessage({ id: request.id, error: { kind: errorKind(error), message: errorMessage(error) } } satisfies ThreadReply);
    }
  })();
});
