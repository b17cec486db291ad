// Entry of the analysis child process (forked by the extension host with ELECTRON_RUN_AS_NODE=1). Runs one
// analysis per `run` message, reports progress at most once a second (the last step of a burst is held, not
// dropped: throttle.ts), honours `cancel` between chunks of work.
// This is the only process that will load onnxruntime-node, so a native crash takes down this child, not the host.
import { assertNever, CancelledError, errorKind, errorMessage } from '../errors';
import { runAnalysis } from './dispatch';
import type { Progress } from '../protocol/results';
import type { HostToWorker, WorkerToHost } from '../protocol/worker';
import { trailingThrottle } from './throttle';

const PROGRESS_INTERVAL_MS = 1000;
const running = new Map<number, AbortController>();

function send(message: WorkerToHost): void {
  process.send?.(message);
}

async function run(id: number, message: Extract<HostToWorker, { type: 'run' }>): Promise<void> {
  const controller = new AbortController();
  running.set(id, controller);
  const progress = trailingThrottle((step: Progress) => send({ type: 'progress', id, progress: step }), PROGRESS_INTERVAL_MS);
  try {
    const generator = runAnalysis(message.request, controller.signal);
    for (;;) {
      if (controller.signal.aborted) {
        await generator.return(undefined as never); // runs the analysis' finally blocks (closes files)
        throw new CancelledError();
      }
      const step = await generator.next();
      if (step.done) {
        progress.stop(); // the result supersedes a step still held
        send({ type: 'result', id, result: step.value });
        break;
      }
      progress.push(step.value);
    }
  } catch (error) {
    const kind = controller.signal.aborted ? 'cancelled' : errorKind(error);
    send({ type: 'error', id, kind, message: errorMessage(error), ...(kind === 'internal' && error instanceof Error && error.stack ? { stack: error.stack } : {}) });
  } finally {
    progress.stop();
    running.delete(id);
  }
}

process.on('message', (message: HostToWorker) => {
  switch (message.type) {
    case 'run':
      void run(message.id, message);
      break;
    case 'cancel':
      running.get(message.id)?.abort();
      break;
    case 'ping':
      // Answered at once: the host asks when a cancelled job will not stop, to learn whether the others can still run.
      send({ type: 'pong', id: message.id });
      break;
    default:
      assertNever(message, 'message');
  }
});

// The parent went away (host closed or crashed): nothing will read our results.
process.on('disconnect', () => process.exit(0));
