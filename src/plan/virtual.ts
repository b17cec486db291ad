// Verifying a plan without writing the pruned copy: the source model runs on the block engine with the plan
// applied on the fly — dropped blocks skipped, dropped heads masked (a masked query head contributes nothing to
// o_proj, as removing its q rows and o columns does; a dropped KV group takes its query heads with it), sparsified
// weights zeroed in float32 exactly where apply zeroes them (sparsify.ts sparsifyValues). The result is the
// perplexity apply --verify reports on the written copy (test/unit/planVirtual.test.ts checks they agree), at the
// cost of no disk writes. Dropped experts are removed from their router on the fly (softmax and top-k over the
// others), which is what the written copy's sliced router does (MoE families, engine/moeRunner.ts). Dropped MLP
// channels lose their down_proj columns (zeroed: mlpChannels.ts zeroDroppedChannels), which is exactly their removal.
import { resolve, dirname } from 'node:path';
import { textNll } from '../analyses/perplexity';
import { DEFAULT_MAX_TOKENS, tokenizeText } from '../analyses/textInput';
import { openModelRunner } from '../compute/modelRunner';
import { InputError } from '../errors';
import type { Progress } from '../protocol/results';
import { attachPlanInputNorms } from './apply';
import { readPlanFile } from './validate';
import { checkAgainstModel, type CheckedPlan } from './checkAgainstModel';
import { keptHeads } from './heads';
import { linearWeights, type LinearWeight } from './linearWeights';
import { openSource } from './source';
import { sparsifyValues } from './sparsify';
import { zeroDroppedChannels } from './mlpChannels';
import type { ApplyResult, PlanVerification } from './types';
import { perOutput } from './allocation';
import { MOE_MODEL_TYPES } from '../compute/families/moeSpec';
import { plannedLayout } from './layout';

export interface VirtualOptions {
  maxTokens?: number;
  providers?: readonly string[];
}

/** Whether a checked plan can run without being written: every action can (drop-experts on the engine's MoE families). */
export function runsVirtually(checked: CheckedPlan): boolean {
  return checked.experts === null || (MOE_MODEL_TYPES as readonly string[]).includes(checked.experts.layout.family);
}

/** Is the plan at `planPath` one verifyVirtually runs (checked against its model)? */
export async function planRunsVirtually(planPath: string): Promise<boolean> {
  const plan = await readPlanFile(planPath);
  const source = await openSource(resolve(dirname(planPath), plan.model.path));
  return runsVirtually(checkAgainstModel(plan, source, planPath));
}

/**
 * Perplexity before and after the plan on the text, and what apply would write (parameters, bytes, blocks, zeros,
 * from the planned layout; `out` and `files` empty: nothing is written).
 */
export async function* verifyVirtually(planPath: string, textFile: string, options: VirtualOptions = {}, signal?: AbortSignal): AsyncGenerator<Progress, { result: ApplyResult; verification: PlanVerification }> {
  const plan = await readPlanFile(planPath);
  const planDir = dirname(planPath);
  const source = await openSource(resolve(planDir, plan.model.path));
  const checked = checkAgainstModel(plan, source, planPath);
  if (!runsVirtually(checked)) throw new InputError(`${planPath}: dropping experts of a ${checked.experts!.layout.family} model cannot be verified without writing the pruned model (the engine runs ${MOE_MODEL_TYPES.join(', ')}); apply it to a folder and verify that`);
  const sparsified = new Map<string, LinearWeight>();
  if (checked.ratios.size > 0) {
    const weights = linearWeights(source).filter((w) => checked.ratios.has(w.layer));
    if (checked.sparsityMetric === 'wanda') yield* attachPlanInputNorms(plan, planPath, source, weights, options.providers, signal);
    for (const w of weights) sparsified.set(w.tensor.name, w);
  }
  const masks = new Map<number, Float32Array>();
  if (checked.heads) {
    const layout = checked.heads;
    for (const [layer, drop] of checked.headDrops) {
      const mask = new Float32Array(layout.heads);
      for (const h of keptHeads(layout, drop).queries) mask[h] = 1;
      masks.set(layer, mask);
    }
  }
  yield { message: `Building ${source.path}` };
  const model = await openModelRunner(source.path, options.providers, signal);
  try {
    if (!model.streams) throw new InputError(`${source.path}: verifying without writing needs a model the block engine runs`);
    const text = await tokenizeText(model, { file: textFile }, options.maxTokens ?? DEFAULT_MAX_TOKENS);
    const before = yield* textNll(model, text, {}, signal);
    const after = yield* textNll(model, text, {
      skip: [...checked.dropped],
      headMask: (layer) => masks.get(layer),
      dropExperts: (layer) => checked.experts?.dropped.get(layer),
      editBlock: (layer, weights) => {
        const channels = checked.channels?.dropped.get(layer);
        if (channels && channels.length > 0) zeroDroppedChannels(checked.channels!.layout, channels, weights);
        if (!checked.ratios.has(layer)) return;
        for (const [name, values] of weights) {
          const weight = sparsified.get(name);
          if (weight) sparsifyValues(weight, values, checked.ratios.get(layer)!);
        }
      },
    }, signal);
    const verification = { textFile, tokens: text.spans.length, device: model.device, perplexity: { before: Math.exp(before.nll / before.predicted), after: Math.exp(after.nll / after.predicted) } };
    // Each sparsified weight loses exactly perOutput(ratio, inputs) weights per output (ties broken in storage order).
    const zeroed = [...sparsified.values()].reduce((s, w) => s + w.outputs * perOutput(checked.ratios.get(w.layer)!, w.inputs), 0);
    const layout = plannedLayout(source, checked);
    const planned = [...layout.shards.values()].flat();
    const result: ApplyResult = {
      out: '', source: source.path, files: [],
      parameters: { before: source.parameters, after: planned.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0) },
      bytes: { before: source.bytes, after: planned.reduce((s, t) => s + t.byteLength, 0) },
      layers: { before: source.layers, after: layout.mapping.size },
      zeroed, configChanges: layout.configChanges,
      warnings: [`verified without writing: the plan ran on the source model in memory (${inMemoryEdits(checked).join(', ')})`],
    };
    return { result, verification };
  } finally {
    await model.release();
  }
}

/** What the in-memory run did in place of writing, this plan's edits only (a user reads it under the numbers). */
function inMemoryEdits(checked: CheckedPlan): string[] {
  const edits: string[] = [];
  if (checked.dropped.size > 0) edits.push('blocks skipped');
  if (checked.headDrops.size > 0) edits.push('heads masked');
  if (checked.ratios.size > 0) edits.push('weights zeroed');
  if (checked.experts && checked.experts.dropped.size > 0) edits.push('experts removed from their routers');
  if (checked.channels && checked.channels.dropped.size > 0) edits.push('MLP channels zeroed out (the same outputs as the narrower MLP)');
  return edits.length > 0 ? edits : ['nothing to change'];
}
