// The dispatch from a request to its analysis (src/analyses/, src/plan/). Used by the analysis process (main.ts)
// and by the CLI, so both run the same code path.
import { assertNever } from '../errors';
import type { AnalysisRequest, AnalysisResult, ResultFor } from '../protocol/worker';
import type { Progress } from '../protocol/results';
import { applyAndVerify } from '../plan/verify';
import { planChoices } from '../plan/choices';
import { generatePlanOnDevice } from '../plan/generate';
import { planPreview } from '../plan/preview';
import { csvAnalysis } from '../analyses/csv';
import { delta } from '../analyses/delta';
import { expertImportance } from '../analyses/experts';
import { histogram } from '../analyses/histogram';
import { inspect } from '../analyses/inspect';
import { perplexity } from '../analyses/perplexity';
import { saliency } from '../analyses/saliency';
import { saliencyStability } from '../analyses/saliencyStability';
import { layers } from '../analyses/layers';
import { stats } from '../analyses/stats';

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
      return { analysis: 'saliency', result: yield* (request.compare ? saliencyStability({ ...request, compare: request.compare }, signal) : saliency(request, signal)) };
    case 'experts':
      return { analysis: 'experts', result: yield* expertImportance(request, signal) };
    case 'csv':
      return { analysis: 'csv', result: yield* csvAnalysis(request, signal) };
    case 'delta':
      return { analysis: 'delta', result: yield* delta(request, signal) };
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
