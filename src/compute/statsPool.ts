// `stats` across threads: a pool of worker_threads (statsThread.ts), each with its own kernels, taking batches of
// consecutive tensors in file order from one queue, so the threads read the shards front to back together and each
// thread's next read is another thread's read-ahead. A tensor is reduced whole by one thread with the one-thread
// code (simdTensorStats.ts), and results are returned per batch, so the numbers do not depend on the thread count
// or on which thread ran what. Cancel terminates the threads (a WebAssembly loop stops at once): within ms.
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CancelledError, InputError, type ErrorKind } from '../errors';
import type { TensorInfo } from '../formats/types';
import { readsFor, type Reads } from './momentsPass';
import type { NumericStats } from './simdTensorStats';

/**
 * Default thread count: the machine's cores, at most this many. Each thread holds its kernels' memory (12 MiB for
 * the moments, up to 64 MiB for a 4096² matrix's stable rank), and the issue's budget is 400 MB for the run.
 */
export const DEFAULT_MAX_THREADS = 4;
/** What --threads accepts at most (memory: see above). */
export const MAX_THREADS = 64;
/** A batch closes at this many bytes or tensors: a message per 4-byte norm weight would cost more than the work. */
const BATCH_BYTES = 8 << 20;
const BATCH_TENSORS = 256;

export interface ThreadJob { tensor: TensorInfo; matrix: { rows: number; cols: number } | null }
export interface ThreadRequest { id: number; jobs: ThreadJob[] }
export type ThreadReply = { id: number; results: NumericStats[] } | { id: number; error: { kind: ErrorKind; message: string } };

/** The thread count of a run: the request's (checked), else the machine's cores capped at DEFAULT_MAX_THREADS. */
export function threadCount(requested: number | undefined): number {
  if (requested === undefined) return Math.max(1, Math.min(availableParallelism(), DEFAULT_MAX_THREADS));
  if (!Number.isSafeInteger(requested) || requested < 1 || requested > MAX_THREADS) {
    throw new InputError(`stats: threads must be a whole number from 1 to ${MAX_THREADS} (got ${requested}); leave it out to use the machine's cores`);
  }
  return requested;
}

/** Consecutive jobs grouped up to BATCH_BYTES / BATCH_TENSORS (a big tensor is a batch of its own). */
export function batches<T extends ThreadJob>(jobs: readonly T[]): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const job of jobs) {
    if (current.length > 0 && (bytes + job.tensor.byteLength > BATCH_BYTES || current.length === BATCH_TENSORS)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(job);
    bytes += job.tensor.byteLength;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** The thread script: next to this module (tsc's out/src/compute) or next to the bundle (dist/). */
function threadScript(): string {
  const script = join(__dirname, 'statsThread.js');
  if (!existsSync(script)) throw new Error(`stats threads: ${script} is missing (run npm run build)`);
  return script;
}

/** What each thread is started with. */
export interface ThreadData { reads: Reads }

interface Pending { request: ThreadRequest; resolve(results: NumericStats[]): void; reject(error: Error): void }

export class StatsPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private readonly queue: Pending[] = [];
  private readonly workers: Worker[] = [];
  private nextId = 0;
  private failure: Error | undefined;
  private readonly onAbort = () => this.fail(new CancelledError());

  constructor(size: number, private readonly signal?: AbortSignal) {
    const script = threadScript();
    for (let i = 0; i < size; i++) {
      const worker = new Worker(script, { workerData: { reads: readsFor(size) } satisfies ThreadData });
      // A thread that dies (out of memory, a bug) takes its batch with it; the run stops with that error.
      worker.on('error', (error) => this.fail(error instanceof Error ? error : new Error(String(error))));
      worker.on('exit', (code) => {
        if (this.failure === undefined) this.fail(new Error(`a stats thread exited (code ${code}) before the run ended`));
      });
      worker.on('message', (reply: ThreadReply) => this.answer(worker, reply));
      this.workers.push(worker);
      this.idle.push(worker);
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (signal?.aborted) this.fail(new CancelledError());
  }

  /** The statistics of a batch's tensors, in its order. The promise is settled even if nobody awaits it yet. */
  run(jobs: ThreadJob[]): Promise<NumericStats[]> {
    const promise = new Promise<NumericStats[]>((resolve, reject) => {
      const pending = { request: { id: this.nextId++, jobs }, resolve, reject };
      if (this.failure) reject(this.failure);
      else {
        this.queue.push(pending);
        this.dispatch();
      }
    });
    // A batch behind a failed one rejects too; its caller may never reach it, so mark it handled here.
    promise.catch(() => undefined);
    return promise;
  }

  /** Stops every thread; pending batches reject with CancelledError. */
  async close(): Promise<void> {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.fail(new CancelledError('stats threads closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.shift()!;
      const pending = this.queue.shift()!;
      this.busy.set(worker, pending);
      worker.postMessage(pending.request);
    }
  }

  private answer(worker: Worker, reply: ThreadReply): void {
    const pending = this.busy.get(worker);
    if (pending === undefined || pending.request.id !== reply.id) return;
    this.busy.delete(worker);
    this.idle.push(worker);
    if ('error' in reply) pending.reject(reply.error.kind === 'input' ? new InputError(reply.error.message) : new Error(reply.error.message));
    else pending.resolve(reply.results);
    this.dispatch();
  }

  private fail(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    for (const pending of [...this.busy.values(), ...this.queue.splice(0)]) pending.reject(error);
    this.busy.clear();
    // Terminating stops a thread mid-pass (a WebAssembly loop included): the cancel is immediate.
    for (const worker of this.workers) void worker.terminate();
  }
}
