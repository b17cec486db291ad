// The bounds the host puts on the analysis process, and the errors a job gets when it hits one: a JavaScript heap
// limit (so a hostile or huge input ends the process with a recognisable out-of-memory death instead of swapping the
// machine), and a per-job watchdog that stops a job that has sent nothing for a long time (a read that never
// returns: a FIFO, a hung network drive). Plain Node, no `vscode`.
import { basename } from 'node:path';
import { InputError } from '../errors';
import type { AnalysisRequest } from '../protocol/worker';

/**
 * --max-old-space-size of the analysis process, in MB. Tensor data lives in ArrayBuffers outside this heap and model
 * weights in onnxruntime's native memory, so the heap holds headers, token lists, CSV profiles and results: a few
 * hundred MB for the largest legitimate inputs. 4096 is also Electron's ceiling (pointer compression), so the
 * number we report is the one in force.
 */
export const ANALYSIS_HEAP_LIMIT_MB = 4096;

/**
 * A job that sends no message (progress is sent at most once a second while work moves) for this long is stopped.
 * Generous: building a large model's inference session on a GPU, or one long forward pass on a CPU, can take
 * minutes without a progress step.
 */
export const JOB_STALL_MS = 10 * 60_000;

/** What V8 prints on stderr as it dies of a full heap. */
export const OUT_OF_MEMORY_PATTERN = /JavaScript heap out of memory|Reached heap limit/;

/** "stats of model.safetensors": a job named for a message. */
export function jobLabel(request: AnalysisRequest): string {
  const input = 'path' in request ? request.path : 'model' in request ? request.model : 'plan' in request ? request.plan : 'tuned' in request ? request.tuned : null;
  return input === null ? request.analysis : `${request.analysis} of ${basename(input)}`;
}

/** What to try instead, by what the request spends memory on. */
function smallerInput(request: AnalysisRequest): string {
  switch (request.analysis) {
    case 'perplexity':
    case 'experts':
    case 'saliency':
    case 'layers':
      return 'try fewer tokens (--max-tokens, or the importanceLens.maxTokens setting) or a smaller model';
    case 'csv':
      return 'try a smaller CSV file or fewer columns';
    default:
      return 'try a smaller checkpoint, or fewer analyses at once';
  }
}

/** The analysis process died of a full heap while this job ran in it. */
export class WorkerOutOfMemoryError extends InputError {
  constructor(request: AnalysisRequest, limitMb: number) {
    super(`the analysis process ran out of memory (limit ${limitMb} MB) while running ${jobLabel(request)}; ${smallerInput(request)}`);
    this.name = 'WorkerOutOfMemoryError';
  }
}

/** The watchdog stopped a job that sent nothing for `stallMs`. */
export class JobStalledError extends InputError {
  constructor(request: AnalysisRequest, stallMs: number) {
    const wait = stallMs >= 60_000 ? `${Math.round(stallMs / 60_000)} minutes` : stallMs >= 1000 ? `${Math.round(stallMs / 1000)} s` : `${stallMs} ms`;
    super(`${jobLabel(request)} made no progress for ${wait} and was stopped (the analysis process was restarted); a read that never returns (a FIFO, a network drive that stopped answering) is the usual cause: check the input and run it again`);
    this.name = 'JobStalledError';
  }
}
