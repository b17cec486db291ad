// Host side of the analysis child process: forks lazily, multiplexes jobs by id, respawns after a crash, and kills
// the child when a cancel is not honoured within CANCEL_GRACE_MS. Plain Node (no `vscode`), so the unit tests
// drive exactly what the extension runs.
import { fork, type ChildProcess } from 'node:child_process';
import { assertNever, CancelledError, InputError } from '../errors';
import type { AnalysisRequest, AnalysisResult, HostToWorker, ResultFor, WorkerToHost } from '../protocol/worker';
import type { Progress } from '../protocol/results';

export const CANCEL_GRACE_MS = 2000;

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
  child: ChildProcess;
  cancel: () => void;
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
  /**
   * Asked before each request goes to the process; a rejection refuses the request with that error (the
   * extension's workspace-trust check). Runs before the job starts, so a refused request is no job.
   */
  admit?: (request: AnalysisRequest) => void | Promise<void>;
  /** Each job's start and end (the status bar and the output channel). */
  onJob?: (event: JobEvent) => void;
}

export class AnalysisWorkerClient {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly jobs = new Map<number, Job>();
  private readonly log: (line: string) => void;
  private readonly cancelGraceMs: number;
  private readonly admit: WorkerClientOptions['admit'];
  private readonly onJob: (event: JobEvent) => void;

  constructor(private readonly entryPath: string, options: WorkerClientOptions = {}) {
    this.log = options.log ?? (() => undefined);
    this.cancelGraceMs = options.cancelGraceMs ?? CANCEL_GRACE_MS;
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

  /** The child's pid, when one is running (tests use it to simulate a crash). */
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
    const child = this.ensureChild();
    const id = this.nextId++;
    const info: JobInfo = { id, request, startedAt: Date.now() };
    return new Promise<ResultFor<R>>((resolve, reject) => {
      let killTimer: NodeJS.Timeout | undefined;
      let cancelled = false;
      const onAbort = () => {
        if (cancelled) return;
        cancelled = true;
        this.send(child, { type: 'cancel', id });
        killTimer = setTimeout(() => {
          if (!this.jobs.has(id)) return;
          this.log(`analysis ${id} did not stop within ${this.cancelGraceMs} ms of cancel; killing the analysis process`);
          const job = this.jobs.get(id);
          this.jobs.delete(id);
          job?.reject(new CancelledError());
          child.kill('SIGKILL');
        }, this.cancelGraceMs);
      };
      const settle = (outcome: { result: AnalysisResult } | { error: Error }) => {
        signal?.removeEventListener('abort', onAbort);
        if (killTimer) clearTimeout(killTimer);
        this.onJob({ type: 'ended', job: info, wallMs: Date.now() - info.startedAt, outcome });
      };
      this.jobs.set(id, {
        info,
        // The worker answers a request with the result of the same analysis (runAnalysis' contract).
        resolve: (result) => (settle({ result }), resolve(result as ResultFor<R>)),
        reject: (error) => (settle({ error }), reject(error)),
        onProgress,
        child,
        cancel: onAbort,
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.onJob({ type: 'started', job: info });
      this.send(child, { type: 'run', id, request });
    });
  }

  dispose(): void {
    const child = this.child;
    this.child = undefined;
    this.failAll(child, new CancelledError('analysis process shut down'));
    child?.kill();
  }

  private ensureChild(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return this.child;
    // ELECTRON_RUN_AS_NODE makes VS Code's Electron binary behave as plain Node; under Node it is ignored.
    const child = fork(this.entryPath, [], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      execArgv: [],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    child.stderr?.setEncoding('utf8').on('data', (text: string) => this.log(`[analysis process] ${text.trimEnd()}`));
    child.on('message', (message: WorkerToHost) => this.onMessage(message));
    child.on('error', (error) => this.log(`analysis process error: ${error.message}`));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      if (code !== 0 || signal) this.log(`analysis process ended with ${how}`);
      this.failAll(child, new WorkerCrashedError(`the analysis process stopped unexpectedly (${how}); the next analysis starts a new one`));
    });
    this.child = child;
    return child;
  }

  private onMessage(message: WorkerToHost): void {
    const job = this.jobs.get(message.id);
    if (!job) return; // a job already cancelled and settled
    switch (message.type) {
      case 'progress':
        job.onProgress?.(message.progress);
        break;
      case 'result':
        this.jobs.delete(message.id);
        job.resolve(message.result);
        break;
      case 'error':
        this.jobs.delete(message.id);
        if (message.stack) this.log(message.stack);
        job.reject(
          message.kind === 'input' ? new InputError(message.message)
            : message.kind === 'cancelled' ? new CancelledError()
              : new Error(message.message),
        );
        break;
      default:
        assertNever(message, 'worker message');
    }
  }

  private failAll(child: ChildProcess | undefined, error: Error): void {
    for (const [id, job] of this.jobs) {
      if (child && job.child !== child) continue;
      this.jobs.delete(id);
      job.reject(error);
    }
  }

  private send(child: ChildProcess, message: HostToWorker): void {
    if (child.connected) child.send(message);
  }
}
