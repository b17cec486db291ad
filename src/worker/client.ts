// Host side of the analysis child process: forks lazily (with a heap limit), multiplexes jobs by id, respawns after a
// crash. A job that ignores its cancel for CANCEL_GRACE_MS, or sends nothing for JOB_STALL_MS, is failed and its
// process retired: new requests go to a fresh process at once, and the retired one's other jobs finish there when
// its event loop still answers (the stuck job waits on I/O), else restart from scratch on the fresh one; it is
// killed once empty. Plain Node (no `vscode`), so the unit tests drive exactly what the extension runs.
import { fork, type ChildProcess } from 'node:child_process';
import { assertNever, CancelledError, InputError } from '../errors';
import type { AnalysisRequest, AnalysisResult, HostToWorker, ResultFor, WorkerToHost } from '../protocol/worker';
import type { Progress } from '../protocol/results';
import { ANALYSIS_HEAP_LIMIT_MB, JOB_STALL_MS, JobStalledError, OUT_OF_MEMORY_PATTERN, WorkerOutOfMemoryError } from './limits';

/**
 * How long a cancelled job may take to stop by itself before its process is ended. onnxruntime-node runs a session
 * synchronously on the analysis process's main thread, so while one block runs (a 7B-shaped block: seconds) the
 * process cannot even read the cancel; ending it is the only way to stop that work. 1 s here, plus at most 1 s of
 * ping when other jobs share the process (retire), keeps "cancel takes effect within 2 s" true at any point.
 */
export const CANCEL_GRACE_MS = 1000;

export class WorkerCrashedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerCrashedError';
  }
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
}

interface Job {
  info: JobInfo;
  resolve: (result: AnalysisResult) => void;
  reject: (error: Error) => void;
  onProgress: ((progress: Progress) => void) | undefined;
  /** The process running it; changes when the job is restarted on a fresh one. */
  child: ChildProcess;
  cancel: () => void;
  /** Whether its caller cancelled it (a cancelled job is never restarted). */
  cancelled: () => boolean;
  /** Restarts its stall watchdog: on start and on every message about it. */
  alive: () => void;
}

/** What the client knows of one analysis process. */
interface ProcessState {
  /** Takes no new jobs; killed once its jobs are gone. */
  retiring: boolean;
  /** Its stderr said the JavaScript heap was full. */
  outOfMemory: boolean;
}

/** A request the analysis process is running. */
export interface JobInfo {
  id: number;
  request: AnalysisRequest;
  /** Date.now() when it was sent. */
  startedAt: number;
}

export type JobEvent =
  | { type: 'started'; job: JobInfo }
  | { type: 'ended'; job: JobInfo; wallMs: number; outcome: { result: AnalysisResult } | { error: Error } };

export interface WorkerClientOptions {
  /** Receives the child's stderr and internal-error stacks (the extension's output channel). */
  log?: (line: string) => void;
  cancelGraceMs?: number;
  /** A job that sends nothing for this long is stopped (default JOB_STALL_MS). */
  stallMs?: number;
  /** --max-old-space-size of the analysis process, in MB (default ANALYSIS_HEAP_LIMIT_MB). */
  heapLimitMb?: number;
  /**
   * Asked before each request goes to the process; a rejection refuses the request with that error (the
   * extension's workspace-trust check). Runs before the job starts, so a refused request is no job.
   */
  admit?: (request: AnalysisRequest) => void | Promise<void>;
  /** Each job's start and end (the status bar and the output channel). */
  onJob?: (event: JobEvent) => void;
}

export class AnalysisWorkerClient {
  /** The process new jobs go to; undefined when none has been forked or the last one is retiring or gone. */
  private child: ChildProcess | undefined;
  private readonly processes = new Map<ChildProcess, ProcessState>();
  private nextId = 1;
  private nextPing = 1;
  private readonly jobs = new Map<number, Job>();
  private readonly pongs = new Map<number, () => void>();
  private readonly log: (line: string) => void;
  private readonly cancelGraceMs: number;
  private readonly stallMs: number;
  private readonly heapLimitMb: number;
  private readonly admit: WorkerClientOptions['admit'];
  private readonly onJob: (event: JobEvent) => void;

  constructor(private readonly entryPath: string, options: WorkerClientOptions = {}) {
    this.log = options.log ?? (() => undefined);
    this.cancelGraceMs = options.cancelGraceMs ?? CANCEL_GRACE_MS;
    this.stallMs = options.stallMs ?? JOB_STALL_MS;
    this.heapLimitMb = options.heapLimitMb ?? ANALYSIS_HEAP_LIMIT_MB;
    this.admit = options.admit;
    this.onJob = options.onJob ?? (() => undefined);
  }

  /** The jobs running now, oldest first. */
  get running(): JobInfo[] {
    return [...this.jobs.values()].map((job) => job.info);
  }

  /** Cancels a running job as its caller's AbortSignal would; false when no such job runs. */
  cancel(id: number): boolean {
    const job = this.jobs.get(id);
    job?.cancel();
    return job !== undefined;
  }

  /** The pid of the process new jobs go to, when one is running (tests use it to simulate a crash). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  run<R extends AnalysisRequest>(request: R, options: RunOptions = {}): Promise<ResultFor<R>> {
    const admit = this.admit;
    if (options.signal?.aborted) return Promise.reject(new CancelledError());
    // Without an admission check the child is forked at once (callers may read `pid` right after run()).
    if (!admit) return this.start(request, options);
    return Promise.resolve().then(() => admit(request)).then(() => {
      if (options.signal?.aborted) throw new CancelledError();
      return this.start(request, options);
    });
  }

  private start<R extends AnalysisRequest>(request: R, options: RunOptions): Promise<ResultFor<R>> {
    const { signal, onProgress } = options;
    const id = this.nextId++;
    const info: JobInfo = { id, request, startedAt: Date.now() };
    return new Promise<ResultFor<R>>((resolve, reject) => {
      let killTimer: NodeJS.Timeout | undefined;
      let stallTimer: NodeJS.Timeout | undefined;
      let cancelled = false;
      // Fails the job now and retires its process, which may still be working on it.
      const abandon = (error: Error, why: string) => {
        const job = this.jobs.get(id);
        if (!job) return;
        this.jobs.delete(id);
        this.send(job.child, { type: 'cancel', id });
        this.log(`analysis ${id} ${why}; the analysis process is replaced`);
        job.reject(error);
        this.retire(job.child);
      };
      const onAbort = () => {
        if (cancelled) return;
        cancelled = true;
        const job = this.jobs.get(id);
        if (job) this.send(job.child, { type: 'cancel', id });
        killTimer = setTimeout(() => abandon(new CancelledError(), `did not stop within ${this.cancelGraceMs} ms of cancel`), this.cancelGraceMs);
      };
      const alive = () => {
        if (stallTimer) clearTimeout(stallTimer);
        stallTimer = setTimeout(() => abandon(new JobStalledError(request, this.stallMs), `sent nothing for ${this.stallMs} ms`), this.stallMs);
      };
      const settle = (outcome: { result: AnalysisResult } | { error: Error }) => {
        signal?.removeEventListener('abort', onAbort);
        if (killTimer) clearTimeout(killTimer);
        if (stallTimer) clearTimeout(stallTimer);
        this.onJob({ type: 'ended', job: info, wallMs: Date.now() - info.startedAt, outcome });
      };
      const child = this.ensureChild();
      this.jobs.set(id, {
        info,
        // The worker answers a request with the result of the same analysis (runAnalysis' contract).
        resolve: (result) => (settle({ result }), resolve(result as ResultFor<R>)),
        reject: (error) => (settle({ error }), reject(error)),
        onProgress,
        child,
        cancel: onAbort,
        cancelled: () => cancelled,
        alive,
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.onJob({ type: 'started', job: info });
      alive();
      this.send(child, { type: 'run', id, request });
    });
  }

  dispose(): void {
    this.child = undefined;
    for (const child of [...this.processes.keys()]) {
      this.processes.delete(child);
      this.failAll(child, () => new CancelledError('analysis process shut down'));
      child.kill();
    }
  }

  private ensureChild(): ChildProcess {
    const current = this.child;
    if (current && current.exitCode === null && current.signalCode === null && current.connected) return current;
    // ELECTRON_RUN_AS_NODE makes VS Code's Electron binary behave as plain Node; under Node it is ignored.
    const child = fork(this.entryPath, [], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      execArgv: [`--max-old-space-size=${this.heapLimitMb}`],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    const state: ProcessState = { retiring: false, outOfMemory: false };
    this.processes.set(child, state);
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      if (OUT_OF_MEMORY_PATTERN.test(text)) state.outOfMemory = true;
      this.log(`[analysis process] ${text.trimEnd()}`);
    });
    child.on('message', (message: WorkerToHost) => this.onMessage(child, message));
    child.on('error', (error) => this.log(`analysis process error: ${error.message}`));
    // From the exit on, nothing more goes to it (its IPC channel may close later than the process).
    child.on('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    // 'close' comes after stderr is read to its end, so an out-of-memory message is seen before the jobs fail.
    child.on('close', (code, signal) => {
      if (this.child === child) this.child = undefined;
      this.processes.delete(child);
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      if (state.outOfMemory) this.log(`analysis process ran out of memory (limit ${this.heapLimitMb} MB)`);
      else if ((code !== 0 || signal) && !state.retiring) this.log(`analysis process ended with ${how}`);
      this.failAll(child, (job) => state.outOfMemory
        ? new WorkerOutOfMemoryError(job.info.request, this.heapLimitMb)
        : new WorkerCrashedError(`the analysis process stopped unexpectedly (${how}); the next analysis starts a new one`));
    });
    this.child = child;
    return child;
  }

  /**
   * Takes `child` out of service after one of its jobs was abandoned: new jobs go to a fresh process from now on.
   * Its other jobs finish there if its event loop still answers a ping (the abandoned job waits on I/O); if not,
   * they could not progress either, and restart from scratch on the fresh process. It is killed once empty.
   */
  private retire(child: ChildProcess): void {
    const state = this.processes.get(child);
    if (!state) return;
    if (state.retiring) {
      this.killIfEmpty(child); // the last job it was draining was abandoned too
      return;
    }
    state.retiring = true;
    if (this.child === child) this.child = undefined;
    if (this.jobsOn(child).length === 0) {
      child.kill('SIGKILL');
      return;
    }
    void this.ping(child).then((answered) => {
      if (!answered) this.restartJobs(child);
      this.killIfEmpty(child);
    });
  }

  private killIfEmpty(child: ChildProcess): void {
    if (this.processes.get(child)?.retiring && this.jobsOn(child).length === 0) child.kill('SIGKILL');
  }

  /** Moves the jobs of an unresponsive retired process to a fresh one, where they start over. */
  private restartJobs(from: ChildProcess): void {
    for (const job of this.jobsOn(from)) {
      if (job.cancelled()) {
        this.jobs.delete(job.info.id);
        job.reject(new CancelledError());
        continue;
      }
      this.log(`analysis ${job.info.id} restarts on a new analysis process (its process stopped answering)`);
      job.child = this.ensureChild();
      job.onProgress?.({ message: 'Restarting: the analysis process was replaced after another analysis stopped answering' });
      job.alive();
      this.send(job.child, { type: 'run', id: job.info.id, request: job.info.request });
    }
  }

  /** Resolves true when `child` answers a ping within the cancel grace period. */
  private ping(child: ChildProcess): Promise<boolean> {
    const id = this.nextPing++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pongs.delete(id);
        resolve(false);
      }, this.cancelGraceMs);
      this.pongs.set(id, () => {
        clearTimeout(timer);
        this.pongs.delete(id);
        resolve(true);
      });
      this.send(child, { type: 'ping', id });
    });
  }

  private jobsOn(child: ChildProcess): Job[] {
    return [...this.jobs.values()].filter((job) => job.child === child);
  }

  private onMessage(from: ChildProcess, message: WorkerToHost): void {
    if (message.type === 'pong') {
      this.pongs.get(message.id)?.();
      return;
    }
    const job = this.jobs.get(message.id);
    // A job already cancelled and settled, or restarted elsewhere (its old process is no longer heard).
    if (!job || job.child !== from) return;
    switch (message.type) {
      case 'progress':
        job.alive();
        job.onProgress?.(message.progress);
        break;
      case 'result':
        this.jobs.delete(message.id);
        job.resolve(message.result);
        this.killIfEmpty(job.child);
        break;
      case 'error':
        this.jobs.delete(message.id);
        if (message.stack) this.log(message.stack);
        job.reject(
          message.kind === 'input' ? new InputError(message.message)
            : message.kind === 'cancelled' ? new CancelledError()
              : new Error(message.message),
        );
        this.killIfEmpty(job.child);
        break;
      default:
        assertNever(message, 'worker message');
    }
  }

  private failAll(child: ChildProcess, error: (job: Job) => Error): void {
    for (const job of this.jobsOn(child)) {
      this.jobs.delete(job.info.id);
      job.reject(error(job));
    }
  }

  private send(child: ChildProcess, message: HostToWorker): void {
    if (child.connected) child.send(message);
  }
}
