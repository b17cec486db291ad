// The dispatch from a request to its analysis. Used by the worker process and by the CLI, so both run the same
// code path.
import { assertNever } from '../errors';
import type { AnalysisRequest, AnalysisResult, ResultFor } from '../protocol/worker';
import type { Progress } from '../protocol/results';
import { applyAndVerify } from '../plan/verify';
import { planChoices } from '../plan/choices';
import { generatePlanOnDevice } from '../plan/generate';
import { planPreview } from '../plan/preview';
import { csvAnalysis } from './csv';
import { delta } from './delta';
import { histogram } from './histogram';
import { inspect } from './inspect';
import { perplexity } from './perplexity';
import { saliency } from './saliency';
import { layers } from './layers';
import { stats } from './stats';

export function runAnalysis<R extends AnalysisRequest>(request: R, signal?: AbortSignal): AsyncGenerator<Progress, ResultFor<R>> {
  // Each case below returns the result matching its request; TypeScript cannot narrow R through the switch.
  return dispatch(request, signal) as AsyncGenerator<Progress, ResultFor<R>>;
}

async function* dispatch(request: AnalysisRequest, signal?: AbortSignal): AsyncGenerator<Progress, AnalysisResult> {
  switch (request.analysis) {
    case 'inspect':
      return { analysis: 'inspect', result: yield* inspect({ path: request.path }, signal) };
    case 'stats':
      return { analysis: 'stats', result: yield* stats({ path: request.path, ...(request.providers ? { providers: request.providers } : {}), ...(request.stableRank === false ? { stableRank: false } : {}), ...(request.threads !== undefined ? { threads: request.threads } : {}) }, signal) };
    case 'layers':
      return { analysis: 'layers', result: yield* layers(request, signal) };
    case 'perplexity':
      return { analysis: 'perplexity', result: yield* perplexity(request, signal) };
    case 'saliency':
      return { analysis: 'saliency', result: yield* saliency(request, signal) };
    case 'csv':
      return { analysis: 'csv', result: yield* csvAnalysis(request, signal) };
    case 'delta':
      return { analysis: 'delta', result: yield* delta({ base: request.base, tuned: request.tuned }, signal) };
    case 'plan':
      return { analysis: 'plan', result: yield* generatePlanOnDevice(request, signal) };
    case 'plan-choices':
      return { analysis: 'plan-choices', result: await planChoices(request.model) };
    case 'plan-preview':
      return { analysis: 'plan-preview', result: await planPreview(request.plan, request.text) };
    case 'apply':
      return { analysis: 'apply', result: yield* applyAndVerify(request, signal) };
    case 'histogram':
      return { analysis: 'histogram', result: yield* histogram({ path: request.path, tensor: request.tensor, ...(request.bins !== undefined ? { bins: request.bins } : {}) }, signal) };
    default:
      return assertNever(request, 'analysis');
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
