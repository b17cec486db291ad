// The markdown of a hover on a config key: what the key means, what the config implies (derived facts), and the
// last layer ranking of the model folder as a sparkline. Plain strings, so the unit tests read what a user sees.
import { loraScale } from '../arch/adapter';
import { formatBytes, formatCount } from '../protocol/units';
import type { DerivedFacts } from './derived';
import { deriveFacts } from './derived';
import type { JsonPathSegment } from './jsonPath';
import type { ConfigFileKind } from './keyDocs';
import { isModelConfig, keyMeaning } from './keyDocs';
import type { StoredLayerRanking } from './layerSparkline';
import { layerMetricLabel, leastImportant, sparkline, sparklineSvg } from './layerSparkline';

export interface ConfigHoverInput {
  kind: ConfigFileKind;
  path: readonly JsonPathSegment[];
  /** The parsed document; null when it does not parse (only the key's meaning is shown then). */
  config: Record<string, unknown> | null;
  ranking: StoredLayerRanking | null;
}

const LEAST_IMPORTANT_SHOWN = 3;

/** The hover's markdown sections, or an empty list when there is nothing to say about the key. */
export function configHoverSections(input: ConfigHoverInput): string[] {
  // Many tools write a config.json; only a model's gets model hovers (one being edited into invalid JSON still does).
  if (input.kind === 'model' && input.config !== null && !isModelConfig(input.config)) return [];
  const sections: string[] = [];
  const named = keyMeaning(input.kind, input.path);
  const key = input.path.filter((s): s is string => typeof s === 'string').pop();
  if (named) sections.push(`**\`${named.key}\`** — ${named.meaning}`);
  // The ranking before the facts: hovers have a height limit, and this is what changes from run to run.
  if (input.ranking && input.ranking.layers.length > 0) sections.push(rankingSection(input.ranking));
  if (input.config) {
    const facts = input.kind === 'model' ? modelFacts(deriveFacts(input.config)) : input.kind === 'adapter' ? adapterFacts(input.config) : [];
    if (facts.length > 0) sections.push([named || key === undefined ? '**Derived from this config**' : `**\`${key}\`** · derived from this config`, ...facts.map((f) => `- ${f}`)].join('\n'));
  }
  return sections;
}

const n = (value: number) => value.toLocaleString('en-US');
const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)}%`;

export function modelFacts(facts: DerivedFacts): string[] {
  const lines: string[] = [];
  const p = facts.parameters;
  if (p) {
    const l = p.perLayer;
    const parts = [`attention ${n(l.attention)} (${pct(l.attention, l.total)})`, `${l.router > 0 ? 'experts' : 'MLP'} ${n(l.mlp)} (${pct(l.mlp, l.total)})`];
    if (l.router > 0) parts.push(`router ${n(l.router)}`);
    parts.push(`norms ${n(l.norms)}`);
    lines.push(`**Parameters per layer:** ${n(l.total)} — ${parts.join(' · ')}`);
    const outside = [`embeddings ${n(p.embeddings)}`, p.lmHead > 0 ? `LM head ${n(p.lmHead)}` : 'LM head tied to the embeddings', `other ${n(p.other)}`];
    lines.push(`**Parameters in all:** ${n(p.total)} (${formatCount(p.total)}) = ${p.layers} × ${n(l.total)} + ${outside.join(' + ')}${p.note ? ` (${p.note})` : ''}`);
    if (p.activePerToken !== null) lines.push(`**Active per token:** ${n(p.activePerToken)} (${formatCount(p.activePerToken)}, ${pct(p.activePerToken, p.total)} of all)`);
  } else if (facts.parametersUnavailable) {
    lines.push(`Parameters: not derived (${facts.parametersUnavailable})`);
  }
  const a = facts.attention;
  if (a) {
    const grouping = a.kind === 'MHA' ? 'multi-head attention: one KV head per query head'
      : a.kind === 'MQA' ? `multi-query attention: all ${a.heads} query heads share 1 KV head`
        : `grouped-query attention: ${a.heads} query heads share ${a.kvHeads} KV heads, ${a.groupSize} per group (${a.groupSize}:1)`;
    lines.push(`**Attention:** ${grouping}; head_dim ${a.headDim}`);
  }
  const kv = facts.kvCache;
  if (kv) {
    const atContext = kv.context === null ? '' : `; ${formatBytes(kv.bytesPerToken * kv.context)} for a full ${n(kv.context)}-token context`;
    const dtype = kv.assumedDtype ? `${kv.dtype} (torch_dtype not set; assumed)` : kv.dtype;
    lines.push(`**KV cache:** ${n(kv.bytesPerToken)} bytes (${formatBytes(kv.bytesPerToken)}) per token at ${dtype} — K and V × ${kv.layers} layers × ${a?.kvHeads ?? '?'} KV heads × ${a?.headDim ?? '?'} × ${kv.dtypeBytes} B${atContext}`);
  }
  const pos = facts.positions;
  if (pos) {
    const context = pos.context === null ? 'context not set' : `context ${n(pos.context)} tokens`;
    if (pos.kind === 'rope') {
      const theta = pos.ropeTheta === null ? 'rope_theta not set (the model class default)' : `θ = ${n(pos.ropeTheta)}`;
      const extras = [pos.scaling === null ? 'no scaling' : `scaling ${pos.scaling}`];
      if (pos.rotaryFraction !== null) extras.push(`rotates ${Math.round(pos.rotaryFraction * 100)}% of each head`);
      if (pos.slidingWindow !== null) extras.push(`sliding window ${n(pos.slidingWindow)} tokens`);
      lines.push(`**Positions:** RoPE, ${theta}, ${context}, ${extras.join(', ')}`);
    } else {
      lines.push(`**Positions:** ${pos.kind === 'learned' ? 'learned position embeddings' : 'encoding not known'}, ${context}`);
    }
  }
  return lines;
}

function adapterFacts(config: Record<string, unknown>): string[] {
  const scale = loraScale(config);
  if (scale === null) return [];
  const rs = config.use_rslora === true;
  return [`**Update scale:** B·A × ${Number(scale.toPrecision(6))} (lora_alpha ${String(config.lora_alpha)} / ${rs ? '√' : ''}r ${String(config.r)}${rs ? ', rank-stabilised' : ''})`];
}

export function rankingSection(ranking: StoredLayerRanking): string {
  const label = layerMetricLabel(ranking.metric);
  const when = ranking.at.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
  const first = ranking.layers[0]!.index;
  const last = ranking.layers[ranking.layers.length - 1]!.index;
  const least = leastImportant(ranking, LEAST_IMPORTANT_SHOWN)
    .map((l) => `layer ${l.index} (${formatScore(l.score)}, rank ${l.rank})`)
    .join(', ');
  const blocks = sparkline(ranking.layers.map((l) => l.score));
  return [
    `**Layer importance** — ${label}, ${ranking.device}${ranking.tokens === null ? '' : `, ${n(ranking.tokens)} tokens`}, ${when}`,
    '',
    // The image's alt text is the same ranking in block characters (screen readers, or where images are off).
    `![${blocks}](${sparklineSvg(ranking, LEAST_IMPORTANT_SHOWN)} "layers ${first}–${last}")`,
    '',
    `layers ${first}–${last}, left to right`,
    '',
    `Least important (orange): ${least}`,
  ].join('\n');
}

function formatScore(score: number): string {
  if (!Number.isFinite(score)) return String(score);
  const abs = Math.abs(score);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e5) ? score.toExponential(3) : Number(score.toPrecision(4)).toString();
}
