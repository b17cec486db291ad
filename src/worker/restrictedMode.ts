// What an untrusted workspace (VS Code's Restricted Mode, the CLI's --restricted) may run: checkpoint headers and
// weight statistics. Not allowed: anything that executes a model (forward passes on a text, saliency, perplexity, a
// user's ONNX model on a CSV, activation-metric plans, applying a plan whose sparsity is scored on a text, apply's
// verification) and anything that decodes a PyTorch pickle. Decided per request by what it does, which for `apply`
// is in the plan file it names; on the host before the request reaches the analysis process (the worker client's
// `admit`), and in the CLI before the command runs.
import { basename, dirname } from 'node:path';
import { assertNever, InputError } from '../errors';
import { detectFormat } from '../formats/detect';
import { pathKind } from '../formats/fileio';
import { indexFormat, locateModelDirectory } from '../formats/huggingface';
import { readPlanFile } from '../plan/validate';
import type { PrunePlan } from '../protocol/pruneplan';
import type { AnalysisRequest } from '../protocol/worker';
import { TEXT_LAYER_METRICS } from '../protocol/layerMetrics';

export type Admission = { allowed: true } | { allowed: false; reason: string };

/** Layer and plan metrics that run the model on a text. */
/** Layer metrics (the registry's text metrics) and plan metrics that run the model on a text. */
const TEXT_METRICS: ReadonlySet<string> = new Set([...TEXT_LAYER_METRICS, 'expert-drop', 'expert-share', 'expert-taylor', 'head-taylor']);

/** Who restricts: VS Code's Restricted Mode, or the CLI's --restricted; they differ in how to lift it. */
export type RestrictedBy = 'workspace' | 'cli';
const RESTRICTED: Record<RestrictedBy, { rule: string; run: string; read: string }> = {
  workspace: {
    rule: 'Restricted Mode (an untrusted workspace) runs only checkpoint headers and weight statistics',
    run: 'Trust the workspace to run it.',
    read: 'Trust the workspace to read it, or use a safetensors copy.',
  },
  cli: {
    rule: '--restricted runs only checkpoint headers and weight statistics',
    run: 'Run without --restricted to run it.',
    read: 'Run without --restricted to read it, or use a safetensors copy.',
  },
};

/** What the decision needs from the request's files, found by `restrictedInputs`. */
export interface RestrictedInputs {
  /** The inputs that are PyTorch pickles. */
  pickles: readonly string[];
  /** apply: why carrying out its plan runs the model (null: it only reads and writes weights). */
  planRunsModel: string | null;
}

/** Whether `request` may run in an untrusted workspace, reading the files it names to know what it would do. */
export async function restrictedModeAdmission(request: AnalysisRequest, by: RestrictedBy = 'workspace'): Promise<Admission> {
  return restrictedModeDecision(request, await restrictedInputs(request), by);
}

/** Whether `request` may run in an untrusted workspace, given what its files hold. */
export function restrictedModeDecision(request: AnalysisRequest, inputs: RestrictedInputs, by: RestrictedBy = 'workspace'): Admission {
  const runs = modelExecution(request) ?? (request.analysis === 'apply' ? inputs.planRunsModel : null);
  const { pickles } = inputs;
  const { rule, run, read } = RESTRICTED[by];
  if (runs !== null) return { allowed: false, reason: `${runs} runs a model; ${rule}. ${run}` };
  if (pickles.length > 0) {
    return {
      allowed: false,
      reason: `${basename(pickles[0]!)} is a PyTorch pickle (.bin/.pt/.pth); ${rule}, and decoding pickles is not one of them. ${read}`,
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
    case 'plan-choices':
    case 'plan-preview':
      return null;
    case 'delta':
      return request.fisherText === undefined ? null : 'Weighing a fine-tune\'s change by the base\'s Fisher on a text';
    case 'layers':
      return TEXT_METRICS.has(request.metric) ? `Layer importance by ${request.metric}` : null;
    case 'perplexity':
      return 'Perplexity';
    case 'experts':
      return 'Expert importance';
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

/** Why carrying out `plan` runs the model: a sparsity action scored by an activation metric (Wanda needs the layer
 * inputs on the plan's text, so apply builds an inference session and runs forward passes; plan/linearWeights.ts).
 * Magnitude sparsity, dropped layers, heads and experts only read and write weights. */
export function planRunsModel(plan: PrunePlan, planPath: string): string | null {
  const index = plan.actions.findIndex((action) => action.type === 'sparsity' && action.metric !== 'magnitude');
  const action = plan.actions[index];
  return action?.type === 'sparsity' ? `Applying ${basename(planPath)} (its actions[${index}] is sparsity by ${action.metric}, scored on a text)` : null;
}

export async function restrictedInputs(request: AnalysisRequest): Promise<RestrictedInputs> {
  const pickles = await pickleInputs(request);
  if (request.analysis !== 'apply') return { pickles, planRunsModel: null };
  let plan: PrunePlan;
  try {
    plan = await readPlanFile(request.plan);
  } catch (error) {
    // apply refuses the same plan before doing anything, with the same message.
    if (error instanceof InputError) return { pickles, planRunsModel: null };
    throw error;
  }
  return { pickles, planRunsModel: planRunsModel(plan, request.plan) };
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
    case 'saliency':
      return [request.model, ...(request.compare ?? [])];
    case 'perplexity':
    case 'experts':
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
