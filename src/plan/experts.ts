// Dropping MoE experts (Mixtral's block_sparse_moe, Qwen-MoE/DeepSeek's mlp.experts): an expert's tensors go, the
// rest are renumbered 0..E'−1, and the router's rows (and per-expert bias) follow, so the router still scores
// exactly the experts that remain. config.json holds one expert count, so every MoE block must drop the same
// number, and at least num_experts_per_tok must remain for top-k routing to stay defined. Shared experts stay.
import { tensorRole } from '../arch/names';
import { FileHandles, tensorChunks } from '../compute/tensorStream';
import { InputError, throwIfAborted } from '../errors';
import type { Progress } from '../protocol/results';
import type { Slice } from './slice';
import type { SourceModel } from './source';

/** How a plan scores experts: weight norm (no text), or on a text Δ NLL when dropped, routing share or first-order Taylor. */
export const EXPERT_METRICS = ['expert-l2', 'expert-drop', 'expert-share', 'expert-taylor'] as const;
export type ExpertMetric = (typeof EXPERT_METRICS)[number];

const EXPERT_COUNT_KEYS = ['num_local_experts', 'num_experts', 'n_routed_experts'] as const;
const EXPERT = /(^|\.)experts\.(\d+)\./;

export interface ExpertLayout {
  /** config.json's model_type. */
  family: string;
  experts: number;
  countKey: (typeof EXPERT_COUNT_KEYS)[number];
  perToken: number;
  /** Blocks that hold routed experts. */
  moeBlocks: Set<number>;
}

export function expertOf(name: string): number | null {
  if (/shared_experts?\./.test(name)) return null;
  const match = EXPERT.exec(name);
  return match ? Number(match[2]) : null;
}

export function expertLayout(source: SourceModel): ExpertLayout {
  if (source.format === 'gguf') throw new InputError(`${source.path}: dropping experts of a GGUF model is not supported in this version`);
  const moeBlocks = new Set<number>();
  for (const t of source.tensors) {
    const { layer } = tensorRole(t.name);
    if (layer !== null && expertOf(t.name) !== null) moeBlocks.add(layer);
  }
  if (moeBlocks.size === 0) {
    if (source.tensors.some((t) => /\.experts\.(gate_up_proj|down_proj)/.test(t.name))) throw new InputError(`${source.directory}: its experts are stored fused in one tensor per block; dropping them is not supported yet`);
    throw new InputError(`${source.directory}: has no MoE experts to drop`);
  }
  const countKey = EXPERT_COUNT_KEYS.find((k) => typeof source.config[k] === 'number');
  if (!countKey) throw new InputError(`${source.configPath}: has expert tensors but no expert count (${EXPERT_COUNT_KEYS.join(', ')})`);
  const perToken = source.config.num_experts_per_tok;
  return { family: source.family, experts: source.config[countKey] as number, countKey, perToken: typeof perToken === 'number' ? perToken : 1, moeBlocks };
}

/** The new name of an expert's tensor (or null when its expert is dropped). */
export function renumberExpert(name: string, dropped: readonly number[]): string | null {
  const expert = expertOf(name);
  if (expert === null || dropped.length === 0) return name;
  if (dropped.includes(expert)) return null;
  const next = expert - dropped.filter((d) => d < expert).length;
  return name.replace(EXPERT, (_whole, lead: string) => `${lead}experts.${next}.`);
}

/** Router tensors of blocks that lose experts: rows [E, hidden] (or elements [E]) of the kept experts. */
export function routerSlices(source: SourceModel, layout: ExpertLayout, dropped: ReadonlyMap<number, readonly number[]>): Map<string, Slice> {
  const slices = new Map<string, Slice>();
  for (const t of source.tensors) {
    const { layer, module } = tensorRole(t.name);
    const drop = layer === null ? undefined : dropped.get(layer);
    if (!drop || drop.length === 0 || module !== 'router' || t.shape[0] !== layout.experts) continue;
    const kept = Array.from({ length: layout.experts }, (_, e) => e).filter((e) => !drop.includes(e));
    slices.set(t.name, { axis: 0, ranges: kept.map((e) => [e, e + 1] as const) });
  }
  return slices;
}

/** Checks an experts action; returns the per-block drop lists. */
export function checkExperts(experts: Record<string, number[]>, source: SourceModel, droppedLayers: ReadonlySet<number>, at: string, fail: (message: string) => never): { layout: ExpertLayout; dropped: Map<number, number[]> } {
  const layout = expertLayout(source);
  const dropped = new Map<number, number[]>();
  for (const [key, list] of Object.entries(experts)) {
    const layer = Number(key);
    if (!layout.moeBlocks.has(layer)) fail(`${at}.experts["${key}"]: block ${layer} has no routed experts`);
    if (droppedLayers.has(layer)) fail(`${at}.experts["${key}"]: block ${layer} is dropped by drop-layers; leave it out of experts`);
    for (const e of list) if (e >= layout.experts) fail(`${at}.experts["${key}"]: block ${layer} has experts 0..${layout.experts - 1}, not ${e}`);
    dropped.set(layer, list);
  }
  const counts = [...layout.moeBlocks].filter((l) => !droppedLayers.has(l)).map((l) => [l, dropped.get(l)?.length ?? 0] as const);
  if (new Set(counts.map(([, n]) => n)).size > 1) {
    fail(`${at}.experts: every MoE block must drop the same number of experts, since config.json holds one ${layout.countKey} (${counts.map(([l, n]) => `block ${l} drops ${n}`).join(', ')})`);
  }
  const remaining = layout.experts - (counts[0]?.[1] ?? 0);
  if (remaining < layout.perToken) fail(`${at}.experts: leaves ${remaining} experts per block but num_experts_per_tok is ${layout.perToken}`);
  return { layout, dropped };
}

/** Weight-only expert importance: the L2 norm of each expert's weights. scores[layer][expert] (NaN: not MoE). */
export async function* expertScores(source: SourceModel, layout: ExpertLayout, signal?: AbortSignal): AsyncGenerator<Progress, number[][]> {
  const sums = Array.from({ length: source.layers }, () => new Float64Array(layout.experts));
  const handles = new FileHandles();
  try {
    for (const t of source.tensors) {
      const { layer } = tensorRole(t.name);
      const expert = expertOf(t.name);
      if (layer === null || expert === null || expert >= layout.experts) continue;
      throwIfAborted(signal);
      yield { message: `Expert norms: ${t.name}`, fraction: layer / source.layers };
      for await (const { values, count } of tensorChunks(t, handles, signal)) for (let i = 0; i < count; i++) sums[layer]![expert]! += values[i]! * values[i]!;
    }
  } finally {
    await handles.close();
  }
  return sums.map((s, layer) => (layout.moeBlocks.has(layer) ? Array.from(s, Math.sqrt) : []));
}

