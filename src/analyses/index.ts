// What every analysis is: an async generator of progress that returns its result. `drain` runs one to its end.
// (Which request runs which analysis is the analysis process's dispatch, src/worker/dispatch.ts.)
import type { Progress } from '../protocol/results';

/** Drains an analysis, handing progress to a callback; returns the result. */
export async function drain<T>(generator: AsyncGenerator<Progress, T>, onProgress?: (progress: Progress) => void): Promise<T> {
  for (;;) {
    const step = await generator.next();
    if (step.done) return step.value;
    onProgress?.(step.value);
  }
}
