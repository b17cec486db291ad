// What an untrusted workspace (VS Code's Restricted Mode) may run: checkpoint headers and weight statistics. Not
// allowed: anything that executes a model (forward passes on a text, saliency, perplexity, a user's ONNX model on
// a CSV, activation-metric plans, apply's verification) and anything that decodes a PyTorch pickle. Decided per
// request on the host, before the request reaches the analysis process (see the worker client's `admit`).
import { basename, dirname } from 'node:path';
import { assertNever } from '../errors';
import { detectFormat } from '../formats/detect';
import { pathKind } from '../formats/fileio';
import { indexFormat, locateModelDirectory } from '../formats/huggingface';
import type { AnalysisRequest } from '../protocol/worker';

export type Admission = { allowed: true } | { allowed: false; reason: string };

/** Layer and plan metrics that run the model on a text. */
const TEXT_METRICS = new Set(['block-influence', 'angular', 'ablation', 'wanda']);

const RESTRICTED = 'Restricted Mode (an untrusted workspace) runs only checkpoint headers and weight statistics';

/**
 * Whether `request` may run in an untrusted workspace. `pickles`: the request's inputs that are PyTorch pickles
 * (found by `pickleInputs`).
 */
export function restrictedModeDecision(request: AnalysisRequest, pickles: readonly string[]): Admission {
  const runs = modelExecution(request);
  if (runs !== null) return { allowed: false, reason: `${runs} runs a model; ${RESTRICTED}. Trust the workspace to run it.` };
  if (pickles.length > 0) {
    return {
      allowed: false,
      reason: `${basename(pickles[0]!)} is a PyTorch pickle (.bin/.pt/.pth); ${RESTRICTED}, and decoding pickles is not one of them. Trust the workspace to read it, or use a safetensors copy.`,
    };
  }
  return { allowed: true };
}

/** What in the request executes a model, or null when nothing does. */
function modelExecution(request: AnalysisRequest): string | null {
  switch (request.analysis) {
    case 'inspect':
    case 'stats':
    case 'histogram':
    case 'delta':
    case 'plan-choices':
    case 'plan-preview':
      return null;
    case 'layers':
      return TEXT_METRICS.has(request.metric) ? `Layer importance by ${request.metric}` : null;
    case 'perplexity':
      return 'Perplexity';
    case 'saliency':
      return 'Token saliency';
    case 'csv':
      return request.mode === 'columns' && request.model !== undefined ? `Column importance with ${basename(request.model)}` : null;
    case 'plan':
      // Without a metric, a plan with a text defaults to a text metric.
      if (request.metric !== undefined) return TEXT_METRICS.has(request.metric) ? `A pruning plan by ${request.metric}` : null;
      return request.textFile === undefined ? null : 'A pruning plan on a text';
    case 'apply':
      return request.verify === undefined ? null : 'Verifying a pruned model';
    default:
      return assertNever(request, 'analysis request');
  }
}

/** The checkpoint paths a request reads weights or headers from. */
function checkpointInputs(request: AnalysisRequest): string[] {
  switch (request.analysis) {
    case 'inspect':
    case 'stats':
    case 'histogram':
    case 'layers':
      return [request.path];
    case 'delta':
      return [request.base, request.tuned];
    case 'perplexity':
    case 'saliency':
    case 'plan':
    case 'plan-choices':
      return [request.model];
    // Plans read and write safetensors only; CSV files are text.
    case 'plan-preview':
    case 'apply':
    case 'csv':
      return [];
    default:
      return assertNever(request, 'analysis request');
  }
}

/** The inputs of `request` that are (or, for a model folder or config, whose weights are) PyTorch pickles. */
export async function pickleInputs(request: AnalysisRequest): Promise<string[]> {
  const found: string[] = [];
  for (const path of checkpointInputs(request)) {
    const pickle = await pickleBehind(path);
    if (pickle !== null) found.push(pickle);
  }
  return found;
}

/** The pickle that reading `path` would decode, or null. Unreadable paths are left to the analysis to report. */
async function pickleBehind(path: string): Promise<string | null> {
  try {
    const kind = await pathKind(path);
    if (kind === 'directory') {
      const { weights } = await locateModelDirectory(path);
      if (weights.format !== 'pytorch') return null;
      return weights.kind === 'index' ? weights.path : weights.paths[0] ?? null;
    }
    if (kind !== 'file') return null;
    const format = await detectFormat(path);
    if (format === 'pytorch-zip' || format === 'pytorch-legacy') return path;
    if (format !== 'json') return null;
    if (basename(path) === 'config.json' || basename(path) === 'adapter_config.json') return pickleBehind(dirname(path));
    return indexFormat(path) === 'pytorch' ? path : null;
  } catch {
    return null;
  }
}
