// `plan MODEL (--drop-layers N | --sparsity S)`: the plan document, from a layer metric (drop-layers) or from the
// outlier ratios of |W| or Wanda scores (sparsity). Nothing is written here; the CLI writes the document.
import { relative, resolve } from 'node:path';
import { fileSha256 } from './source';
import { layers as layerScores, parseLayerMetric, rank } from '../analyses/layers';
import { expertImportance } from '../analyses/experts';
import { expertTaylorScores } from '../analyses/expertTaylor';
import { DEFAULT_MAX_TOKENS, tokenizeText, type TextSource } from '../analyses/textInput';
import { openModelRunner } from '../compute/modelRunner';
import { tensorRole } from '../arch/names';
import { InputError } from '../errors';
import type { Progress } from '../protocol/results';
import { allocation, outlierRatios, round, zeroedIn } from './allocation';
import { blockAngularDistances, contiguousAlternative, lowestScoring } from './layerSelection';
import { attachInputNorms, linearWeights } from './linearWeights';
import { openSource, type SourceModel } from './source';
import { EXPERT_METRICS, expertLayout, expertScores, renumberExpert, routerSlices, type ExpertMetric } from './experts';
import { checkHeadDrops, headLayout, headScores, headSlices } from './heads';
import { HEAD_METRICS, headTaylorScores, type HeadMetric } from './headTaylor';
import { CHANNEL_METRICS, channelCount, channelMagnitudeScores, channelSlices, mlpLayout, type ChannelMetric } from './mlpChannels';
import { channelTaylorScores } from './channelTaylor';
import { elementBytes, slicedShape, type Slice } from './slice';
import type { TensorInfo } from '../formats/types';
import { PLAN_KIND, PLAN_VERSION, type PlanAction, type PlanAlternative, type PlanMetric, type PlanRequest, type PrunePlan, type SparsityMetric } from './types';

export type { PlanRequest };

export const SPARSITY_METRICS: readonly SparsityMetric[] = ['magnitude', 'wanda'];
export const OWL_DEFAULTS = { lambda: 0.08, threshold: 5 };

export async function* generatePlan(request: PlanRequest, signal?: AbortSignal): AsyncGenerator<Progress, PrunePlan> {
  return (yield* generatePlanOnDevice(request, signal)).plan;
}

/** The plan, and the device its activation metric ran on (null for a weight-only metric). */
export async function* generatePlanOnDevice(request: PlanRequest, signal?: AbortSignal): AsyncGenerator<Progress, { plan: PrunePlan; device: string | null }> {
  const asked = [request.dropLayers, request.sparsity, request.dropHeads, request.dropQueryHeads, request.dropExperts, request.dropMlpChannels].filter((v) => v !== undefined).length;
  if (asked !== 1) throw new InputError('plan: give one of --drop-layers N, --sparsity S, --drop-heads G, --drop-query-heads Q, --drop-experts E or --drop-mlp-channels C');
  const source = await openSource(resolve(request.model));
  const maxTokens = request.maxTokens ?? DEFAULT_MAX_TOKENS;
  const text = request.textFile ? { file: resolve(request.textFile) } : undefined;
  const where = (path: string) => (request.planDirectory ? relative(request.planDirectory, path) || '.' : path);
  const planText = text ? { file: where(text.file), maxTokens, sha256: await fileSha256(text.file) } : null;

  let metric: PlanMetric;
  let device: string | null = null;
  const actions: PlanAction[] = [];
  const alternatives: PlanAlternative[] = [];
  const notes: string[] = [];
  if (request.dropMlpChannels !== undefined) {
    const layout = mlpLayout(source);
    const n = channelCount(request.dropMlpChannels, layout.intermediate);
    const name = (request.metric ?? (text ? 'channel-taylor' : 'channel-magnitude')) as ChannelMetric;
    if (!CHANNEL_METRICS.includes(name)) throw new InputError(`plan: MLP channels are scored by one of ${CHANNEL_METRICS.join(', ')} (Σ|W| over the channel's gate/up rows and down_proj column; LLM-Pruner's group Taylor on a text), not '${request.metric}'`);
    if (name === 'channel-taylor' && !text) throw new InputError("plan: metric 'channel-taylor' takes gradients on a text; give --text-file F (or --metric channel-magnitude)");
    let scores: number[][];
    if (name === 'channel-magnitude') scores = yield* channelMagnitudeScores(source, layout, signal);
    else {
      const scored = yield* channelTaylorScores(source, layout, text!, maxTokens, request.providers, signal);
      scores = scored.scores;
      device = scored.device;
    }
    const channels: Record<string, number[]> = {};
    scores.forEach((list, layer) => {
      if (list.length > 0) channels[String(layer)] = lowestScoring(list.map((score, index) => ({ index, score })), n);
    });
    actions.push({ type: 'drop-mlp-channels', channels });
    const blocks = scores.filter((l) => l.length > 0).length;
    const listed = Math.min(n + LISTED_CANDIDATES, Math.floor(MAX_LISTED_CHANNELS / Math.max(blocks, 1)));
    metric = { name, text: name === 'channel-magnitude' ? null : planText, scores: channelScoreRows(scores, listed) };
    notes.push(`${name === 'channel-magnitude' ? "channel-magnitude: Σ|W| over each MLP channel's group (gate row, up row, their bias elements, down_proj column), a weight-only proxy" : "channel-taylor (LLM-Pruner's channel group Taylor, element-wise, sum aggregation: Σ |W·∂L/∂W| over each MLP channel's gate row, up row, their bias elements and down_proj column, L the mean NLL on the text)"}; every block drops its ${n} lowest of ${layout.intermediate} channels, since config.json holds one intermediate_size (${layout.intermediate - n} after); metric.scores lists each block's ${listed} lowest (${listed > n ? 'the dropped ones and the next candidates' : 'the lowest of the dropped ones'}), ranked among all ${scores.reduce((s, l) => s + l.length, 0)} channels`);
  } else if (request.dropExperts !== undefined) {
    const layout = expertLayout(source);
    const n = request.dropExperts;
    const most = layout.experts - layout.perToken;
    if (!Number.isSafeInteger(n) || n < 1 || n > most) throw new InputError(`plan: --drop-experts must be between 1 and ${most} (${layout.experts} experts, ${layout.perToken} routed per token; got ${n})`);
    const name = (request.metric ?? (text ? 'expert-drop' : 'expert-l2')) as ExpertMetric;
    if (!EXPERT_METRICS.includes(name)) throw new InputError(`plan: experts are scored by one of ${EXPERT_METRICS.join(', ')}, not '${request.metric}'`);
    if (name !== 'expert-l2' && !text) throw new InputError(`plan: metric '${name}' routes the model's tokens on a text; give --text-file F (or --metric expert-l2)`);
    let scores: number[][];
    if (name === 'expert-l2') {
      scores = yield* expertScores(source, layout, signal);
    } else {
      const routed = yield* routedExpertScores(source, name, text!, maxTokens, request.providers, signal);
      scores = routed.scores;
      device = routed.device;
    }
    const flat = scores.flatMap((list, layer) => list.map((score, group) => ({ layer, group, score })));
    const ranked = rank(flat.map((s, index) => ({ index, score: s.score })));
    const experts: Record<string, number[]> = {};
    scores.forEach((list, layer) => {
      if (list.length > 0) experts[String(layer)] = lowestScoring(list.map((score, index) => ({ index, score })), n);
    });
    actions.push({ type: 'drop-experts', experts });
    metric = { name, text: name === 'expert-l2' ? null : planText, scores: flat.map((s, i) => ({ layer: s.layer, group: s.group, score: s.score, rank: ranked[i]!.rank })) };
    notes.push({
      'expert-l2': `expert-l2: the norm of each expert's weights (group = expert), a weight-only proxy; expert-drop (Δ NLL on a text) measures what dropping one does`,
      'expert-drop': 'expert-drop: Δ mean NLL on the text when the expert alone is dropped and its tokens re-routed to their next choice (group = expert; the experts analysis); each MoE block drops its lowest',
      'expert-share': 'expert-share: the fraction of token-slots the router sends to the expert on the text (group = expert); each MoE block drops its least used',
      'expert-taylor': "expert-taylor: LLM-Pruner's first-order Taylor importance, Σ |W·∂L/∂W| over the expert's gate/up/down weights, L the mean NLL on the text (group = expert; the experts analysis); each MoE block drops its lowest",
    }[name]);
  } else if (request.dropHeads !== undefined || request.dropQueryHeads !== undefined) {
    const layout = headLayout(source);
    const name = (request.metric ?? 'head-l2') as HeadMetric;
    if (!HEAD_METRICS.includes(name)) throw new InputError(`plan: heads are scored by one of ${HEAD_METRICS.join(', ')} (the norm of their q/k/v rows and o_proj columns; LLM-Pruner's group Taylor on a text), not '${request.metric}'`);
    if (name === 'head-taylor' && !text) throw new InputError("plan: metric 'head-taylor' takes gradients on a text; give --text-file F (or --metric head-l2)");
    let scores: { groups: number[]; queries: number[] }[];
    if (name === 'head-l2') scores = yield* headScores(source, layout, signal);
    else {
      const scored = yield* headTaylorScores(source, layout, text!, maxTokens, request.providers, signal);
      scores = scored.scores;
      device = scored.device;
    }
    const headText = name === 'head-l2' ? null : planText;
    const definition = name === 'head-l2' ? 'head-l2' : "head-taylor (LLM-Pruner's group Taylor: Σ |W·∂L/∂W| over the group's q/k/v rows and o_proj columns, L the mean NLL on the text)";
    const lowest = (list: readonly number[], n: number, offset = 0) => lowestScoring(list.map((score, index) => ({ index: index + offset, score })), n);
    if (request.dropHeads !== undefined) {
      const n = request.dropHeads;
      if (!Number.isSafeInteger(n) || n < 1 || n >= layout.kvHeads) throw new InputError(`plan: --drop-heads must be between 1 and ${layout.kvHeads - 1} KV groups for a model with ${layout.kvHeads} KV heads (got ${n})`);
      const flat = scores.flatMap((s, layer) => s.groups.map((score, group) => ({ layer, group, score })));
      const ranked = rank(flat.map((s, index) => ({ index, score: s.score })));
      actions.push({ type: 'drop-heads', kvGroups: Object.fromEntries(scores.map((s, layer) => [String(layer), lowest(s.groups, n)])) });
      metric = { name, text: headText, scores: flat.map((s, i) => ({ layer: s.layer, group: s.group, score: s.score, rank: ranked[i]!.rank })) };
      notes.push(`${definition} per KV group (${layout.group} query heads each), rank 1 = most important; every block drops its ${n} lowest, since config.json holds one head count`);
    } else {
      const n = request.dropQueryHeads!;
      if (!Number.isSafeInteger(n) || n < 1 || n >= layout.group) throw new InputError(`plan: --drop-query-heads must be between 1 and ${layout.group - 1} (query heads per KV group: ${layout.group}; got ${n})`);
      const flat = scores.flatMap((s, layer) => s.queries.map((score, head) => ({ layer, head, score })));
      const ranked = rank(flat.map((s, index) => ({ index, score: s.score })));
      const perGroup = (queries: readonly number[]) => Array.from({ length: layout.kvHeads }, (_, g) => lowest(queries.slice(g * layout.group, (g + 1) * layout.group), n, g * layout.group)).flat();
      actions.push({ type: 'drop-heads', kvGroups: {}, queryHeads: Object.fromEntries(scores.map((s, layer) => [String(layer), perGroup(s.queries)])) });
      metric = { name, text: headText, scores: flat.map((s, i) => ({ layer: s.layer, head: s.head, score: s.score, rank: ranked[i]!.rank })) };
      notes.push(`${definition} per query head, rank 1 = most important; every KV group drops its ${n} lowest, so all groups keep ${layout.group - n} and GQA stays valid`);
    }
  } else if (request.dropLayers !== undefined) {
    const n = request.dropLayers;
    if (!Number.isSafeInteger(n) || n < 1 || n >= source.layers) throw new InputError(`plan: --drop-layers must be between 1 and ${source.layers - 1} for a model of ${source.layers} blocks (got ${n})`);
    const name = parseLayerMetric(request.metric ?? (text ? 'block-influence' : 'weight-l2'));
    if (name !== 'weight-l2' && !text) throw new InputError(`plan: metric '${name}' runs the model on a text; give --text-file F (or --metric weight-l2)`);
    const providers = request.providers ? { providers: request.providers } : {};
    const result = yield* layerScores({ path: source.path, metric: name, ...(text ? { text, maxTokens } : {}), ...providers }, signal);
    if (text) device = result.device;
    const scores = result.layers.map((l) => ({ index: l.index, score: l.score }));
    const distances = text ? yield* blockAngularDistances(source.path, text, maxTokens, n, request.providers, signal) : null;
    const lowest: PlanAlternative = { selection: 'lowest-score', layers: lowestScoring(scores, n), angularDistance: null, scoreSum: sum(scores, lowestScoring(scores, n)) };
    const block = contiguousAlternative(scores, n, distances);
    const [chosen, other] = request.contiguous ? [block, lowest] : [lowest, block];
    actions.push({ type: 'drop-layers', layers: chosen.layers, selection: chosen.selection });
    // Listed even when both choices agree: that agreement is worth seeing.
    alternatives.push(other);
    metric = { name, text: planText, scores: result.layers.map((l) => ({ layer: l.index, score: l.score, rank: l.rank })) };
    notes.push(`${name}: rank 1 = most important; the action drops the ${request.contiguous ? 'best contiguous block' : 'lowest-scoring blocks'}; alternatives lists the other choice`);
  } else {
    const target = request.sparsity!;
    if (!Number.isFinite(target) || target <= 0 || target > 0.99) throw new InputError(`plan: --sparsity must be a fraction in (0, 0.99] (got ${target})`);
    const name = (request.metric ?? (text ? 'wanda' : 'magnitude')) as SparsityMetric;
    if (!SPARSITY_METRICS.includes(name)) throw new InputError(`plan: sparsity metric '${name}' is not one of ${SPARSITY_METRICS.join(', ')}`);
    if (name === 'wanda' && !text) throw new InputError("plan: metric 'wanda' needs the layer inputs on a text; give --text-file F (or --metric magnitude)");
    const weights = linearWeights(source);
    if (name === 'wanda') device = yield* attachInputNorms(source, weights, text!, maxTokens, request.providers, signal);
    const method = request.allocation ?? 'owl';
    const lambda = request.lambda ?? OWL_DEFAULTS.lambda;
    if (!(lambda >= 0 && lambda <= 1)) throw new InputError(`plan: --lambda must be in [0, 1] (got ${lambda})`);
    const outliers = yield* outlierRatios(weights, source.layers, OWL_DEFAULTS.threshold, signal);
    const layers = method === 'owl'
      ? allocation(target, outliers, lambda)
      : outliers.map((d, layer) => ({ layer, ratio: target, outlierRatio: round(d) }));
    actions.push({ type: 'sparsity', metric: name, target, allocation: method === 'owl' ? { method, lambda, threshold: OWL_DEFAULTS.threshold } : { method }, layers });
    metric = { name, text: name === 'wanda' ? planText : null, scores: rank(outliers.map((score, index) => ({ index, score: round(score) }))).map((s) => ({ layer: s.index, score: s.score, rank: s.rank })) };
    notes.push(`scores are outlier ratios (${name} scores above ${OWL_DEFAULTS.threshold}× their block mean); sparsity zeroes the lowest-scoring weights of each output row and stores the zeros: the checkpoint does not shrink`);
  }
  const plan: PrunePlan = {
    kind: PLAN_KIND,
    version: PLAN_VERSION,
    model: { path: where(source.path), family: source.family, layers: source.layers, parameters: source.parameters, bytes: source.bytes, fingerprint: source.fingerprint },
    metric,
    actions,
    alternatives,
    predicted: predict(source, actions),
    notes,
  };
  return { plan, device };
}

/** Channels beyond the dropped ones that metric.scores lists per block: the next candidates for a hand edit. */
const LISTED_CANDIDATES = 8;
/** Channel scores a plan lists in all: ~3.5 MB of JSON, well under the plan size limit (validate.ts MAX_PLAN_BYTES). */
const MAX_LISTED_CHANNELS = 32_768;

/**
 * Each block's `listed` lowest channel scores, ranked among all channels of the model (rank 1 = most important).
 * Not all: a 7B model has ~350,000 channels, and the plan document is meant to be read and diffed.
 */
function channelScoreRows(scores: readonly number[][], listed: number): PlanMetric['scores'] {
  const flat = scores.flatMap((list, layer) => list.map((score, group) => ({ layer, group, score })));
  const ranked = rank(flat.map((s, index) => ({ index, score: s.score })));
  const rows = flat.map((s, i) => ({ ...s, rank: ranked[i]!.rank }));
  return scores.flatMap((list, layer) => {
    const mine = rows.filter((r) => r.layer === layer);
    const keep = new Set(lowestScoring(mine.map((r) => ({ index: r.group, score: r.score })), Math.min(listed, list.length)));
    return mine.filter((r) => keep.has(r.group));
  });
}

function sum(scores: readonly { index: number; score: number }[], layers: readonly number[]): number {
  return scores.filter((s) => layers.includes(s.index)).reduce((total, s) => total + s.score, 0);
}

/** Parameters, bytes and zeros after the actions, from the headers alone. */
export function predict(source: SourceModel, actions: readonly PlanAction[]): PrunePlan['predicted'] {
  const dropped = new Set(actions.flatMap((a) => (a.type === 'drop-layers' ? a.layers : [])));
  const expertAction = actions.find((a) => a.type === 'drop-experts');
  const droppedExperts = new Map(Object.entries(expertAction?.experts ?? {}).map(([k, v]) => [Number(k), v]));
  const kept = source.tensors.filter((t) => {
    const { layer } = tensorRole(t.name);
    return layer === null || (!dropped.has(layer) && renumberExpert(t.name, droppedExperts.get(layer) ?? []) !== null);
  });
  const heads = actions.find((a) => a.type === 'drop-heads');
  const slices = heads ? headSlices(source, headLayout(source), checkHeadDrops(heads, source.layers, headLayout(source), dropped, 'plan', (m) => {
    throw new Error(m);
  })) : new Map<string, Slice>();
  if (expertAction) for (const [name, slice] of routerSlices(source, expertLayout(source), droppedExperts)) slices.set(name, slice);
  const channelAction = actions.find((a) => a.type === 'drop-mlp-channels');
  if (channelAction) {
    const dropped = new Map(Object.entries(channelAction.channels).map(([k, v]) => [Number(k), v]));
    for (const [name, slice] of channelSlices(mlpLayout(source), dropped)) slices.set(name, slice);
  }
  const sizeOf = (t: TensorInfo) => {
    const slice = slices.get(t.name);
    if (!slice) return { count: t.count, bytes: t.byteLength };
    const count = slicedShape(t, slice).reduce((a, b) => a * b, 1);
    return { count, bytes: count * elementBytes(t) };
  };
  let zeroed = 0;
  const sparsity = actions.find((a) => a.type === 'sparsity');
  if (sparsity) {
    const ratios = new Map(sparsity.layers.map((l) => [l.layer, l.ratio]));
    for (const weight of linearWeights(source)) if (!dropped.has(weight.layer)) zeroed += zeroedIn(weight, ratios.get(weight.layer) ?? 0);
  }
  return {
    layers: { before: source.layers, after: source.layers - dropped.size },
    parameters: { before: source.parameters, after: kept.reduce((s, t) => s + sizeOf(t).count, 0) },
    bytes: { before: source.bytes, after: kept.reduce((s, t) => s + sizeOf(t).bytes, 0) },
    zeroed,
  };
}

/**
 * Expert importance on a text (analyses/experts.ts; here, not in experts.ts, which the extension host reads for the
 * plan choices and which must not pull in the engine): scores[layer][expert] = Δ NLL when dropped (expert-drop),
 * routing share (expert-share) or first-order Taylor (expert-taylor); [] for blocks without routed experts.
 */
export async function* routedExpertScores(source: SourceModel, metric: Exclude<ExpertMetric, 'expert-l2'>, text: TextSource, maxTokens: number, providers?: readonly string[], signal?: AbortSignal): AsyncGenerator<Progress, { scores: number[][]; device: string }> {
  if (metric === 'expert-taylor') {
    // One backward pass on the text, without the experts analysis's drops.
    yield { message: `Building ${source.directory}` };
    const model = await openModelRunner(source.directory, providers, signal);
    try {
      const taylor = yield* expertTaylorScores(model, await tokenizeText(model, text, maxTokens), signal);
      return { scores: taylor.map((t) => Array.from(t)), device: model.device };
    } finally {
      await model.release();
    }
  }
  const result = yield* expertImportance({ model: source.directory, text, maxTokens, ...(providers ? { providers } : {}) }, signal);
  const scores = Array.from({ length: source.layers }, (): number[] => []);
  for (const block of result.blocks) scores[block.index] = block.experts.map((e) => (metric === 'expert-drop' ? e.score : e.share));
  return { scores, device: result.device };
}
