// The dispatch from a request to its analysis. Used by the worker process and by the CLI, so both run the same
// code path.
import { assertNever } from '../errors';
import type { AnalysisRequest, AnalysisResult } from '../protocol/worker';
import type { Progress } from '../protocol/results';
import { inspect } from './inspect';

export async function* runAnalysis(request: AnalysisRequest, signal?: AbortSignal): AsyncGenerator<Progress, AnalysisResult> {
  switch (request.analysis) {
    case 'inspect':
      return { analysis: 'inspect', result: yield* inspect({ path: request.path }, signal) };
    default:
      return assertNever(request.analysis, 'analysis');
  }
}

/** Drains an analysis, handing progress to a callback; returns the result. */
export async function drain<T>(generator: AsyncGenerator<Progress, T>, onProgress?: (progress: Progress) => void): Promise<T> {
  for (;;) {
    const step = await generator.next();
    if (step.done) return step.value;
    onProgress?.(step.value);
  }
}
