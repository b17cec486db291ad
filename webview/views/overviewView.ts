// The Overview view: what the checkpoint is (architecture and adapter cards, with their config file linked), where
// its parameters sit (by module kind, by dtype, by layer) and the device the analyses ran on.
import type { InspectResult } from '../../src/protocol/results';
import { formatBytes, formatCount } from '../../src/protocol/units';
import { basename, h } from '../dom';
import { barChart, type Bar } from './barChart';

export interface OverviewActions {
  /** Opens a file of the checkpoint (at a key, for config.json); undefined in the standalone report. */
  openFile?: (path: string, key?: string) => void;
}

export interface OverviewView {
  element: HTMLElement;
  /** The devices analyses ran on, by analysis ("weight statistics" → "cpu"). */
  setDevices(devices: [string, string][]): void;
}

export function overviewView(result: InspectResult, actions: OverviewActions): OverviewView {
  const devices = h('dl', { class: 'arch-grid devices' });
  const deviceSection = h('section', { 'aria-labelledby': 'device-title' }, h('h2', { id: 'device-title' }, 'Device'), devices);
  const setDevices = (list: [string, string][]) => {
    devices.replaceChildren(...(list.length === 0
      ? [h('div', {}, h('dt', {}, 'analyses'), h('dd', { class: 'muted' }, 'none has run on a device yet (this summary reads headers only)'))]
      : list.map(([what, device]) => h('div', {}, h('dt', {}, what), h('dd', {}, device)))));
  };
  setDevices([]);
  const element = h('div', { class: 'overview' },
    h('div', { class: 'cards' }, architecture(result, actions), adapterCard(result, actions), deviceSection),
    h('div', { class: 'breakdowns' }, moduleBreakdown(result), dtypeBreakdown(result)),
    layerBars(result),
  );
  return { element, setDevices };
}

function configLink(path: string, label: string, actions: OverviewActions, key?: string): HTMLElement | string {
  return actions.openFile
    ? h('a', { href: '#', class: 'source-link', onclick: (e: Event) => (e.preventDefault(), actions.openFile!(path, key)) }, label)
    : label;
}

function architecture(result: InspectResult, actions: OverviewActions): HTMLElement {
  const a = result.architecture;
  const fields: [string, number | string | null, string | undefined][] = [
    ['family', a.family, 'model_type'], ['layers', a.layers, 'num_hidden_layers'], ['hidden', a.hidden, 'hidden_size'], ['heads', a.heads, 'num_attention_heads'],
    ['KV heads', a.kvHeads, 'num_key_value_heads'], ['intermediate', a.intermediate, 'intermediate_size'], ['vocab', a.vocab, 'vocab_size'],
    ...(a.experts !== null ? [['experts', a.experts, undefined] as [string, number, undefined]] : []),
  ];
  const configPath = a.configPath;
  const source = configPath ? configLink(configPath, 'config.json', actions)
    : a.source === 'config' ? 'config.json' : a.source === 'metadata' ? 'the file’s metadata' : 'tensor names and shapes';
  return h('section', { class: 'card', 'aria-labelledby': 'arch-title' },
    h('h2', { id: 'arch-title' }, 'Architecture ', h('span', { class: 'muted small' }, 'from ', source)),
    h('dl', { class: 'arch-grid' }, ...fields.map(([label, value, key]) => h('div', { title: key && configPath ? `${key} in config.json` : undefined },
      h('dt', {}, label),
      h('dd', {}, key && configPath && actions.openFile && value !== null ? configLink(configPath, String(value), actions, key) : value === null ? '—' : String(value))))),
  );
}

function adapterCard(result: InspectResult, actions: OverviewActions): HTMLElement | null {
  const a = result.adapter;
  if (!a) return null;
  const fields: [string, string][] = [
    ['type', a.peftType ?? '—'], ['rank r', a.r === null ? '—' : String(a.r)], ['alpha', a.alpha === null ? '—' : String(a.alpha)],
    ['scale', a.scale === null ? '—' : String(Number(a.scale.toPrecision(4)))], ['A/B pairs', String(a.pairs)],
    ['targets', a.targetModules.join(', ') || '—'], ['base model', a.baseModel ?? '—'],
  ];
  return h('section', { class: 'card', 'aria-labelledby': 'adapter-title' },
    h('h2', { id: 'adapter-title' }, 'Adapter ', h('span', { class: 'muted small' }, 'from ', configLink(a.configPath, 'adapter_config.json', actions))),
    h('dl', { class: 'arch-grid' }, ...fields.map(([label, value]) => h('div', {}, h('dt', {}, label), h('dd', {}, value)))),
  );
}

function shareBars(groups: Map<string, { params: number; bytes: number; tensors: number }>, total: number, what: string): Bar[] {
  return [...groups.entries()].sort((a, b) => b[1].params - a[1].params).map(([key, g]) => ({
    label: key,
    value: g.params,
    valueText: `${formatCount(g.params)} · ${total > 0 ? ((g.params / total) * 100).toFixed(1) : '0'}%`,
    title: `${what} ${key}: ${g.params.toLocaleString('en-US')} parameters in ${g.tensors} tensors, ${formatBytes(g.bytes)}`,
  }));
}

function group(result: InspectResult, key: (t: InspectResult['tensors'][number]) => string) {
  const groups = new Map<string, { params: number; bytes: number; tensors: number }>();
  for (const t of result.tensors) {
    const g = groups.get(key(t)) ?? { params: 0, bytes: 0, tensors: 0 };
    g.params += t.count;
    g.bytes += t.byteLength;
    g.tensors++;
    groups.set(key(t), g);
  }
  return groups;
}

function moduleBreakdown(result: InspectResult): HTMLElement | null {
  if (result.tensors.length === 0) return null;
  // Attention and MLP projections are summed by family so the split reads at a glance.
  const family = (module: string) => (module.startsWith('attn.') ? 'attention' : module.startsWith('mlp.') ? 'MLP' : module === 'lm_head' ? 'LM head' : module === 'embed' ? 'embeddings' : module === 'norm' ? 'norms' : module);
  return h('section', { class: 'card', 'aria-labelledby': 'modules-title' },
    h('h2', { id: 'modules-title' }, 'Parameters by module'),
    barChart(shareBars(group(result, (t) => family(t.module)), result.parameters, 'Module'), 'Parameters by module', { labelWidth: 90, barWidth: 200 }));
}

function dtypeBreakdown(result: InspectResult): HTMLElement | null {
  if (result.tensors.length === 0) return null;
  const groups = group(result, (t) => t.dtype);
  return h('section', { class: 'card', 'aria-labelledby': 'dtypes-title' },
    h('h2', { id: 'dtypes-title' }, 'Parameters by dtype ', h('span', { class: 'muted small' }, `${formatBytes(result.bytes)} in ${result.files.length === 1 ? basename(result.files[0]!) : `${result.files.length} files`}`)),
    barChart(shareBars(groups, result.parameters, 'DType'), 'Parameters by dtype', { labelWidth: 90, barWidth: 200 }));
}

function layerBars(result: InspectResult): HTMLElement | null {
  if (result.layers.length === 0) return null;
  const bars: Bar[] = result.layers.map((layer) => {
    const label = layer.index === null ? 'outside blocks' : `layer ${layer.index}`;
    return {
      label,
      value: layer.share,
      valueText: `${(layer.share * 100).toFixed(1)}%`,
      title: `${label}: ${layer.params.toLocaleString('en-US')} parameters (${(layer.share * 100).toFixed(4)}%)`,
      other: layer.index === null,
    };
  });
  return h('section', { 'aria-labelledby': 'bars-title' }, h('h2', { id: 'bars-title' }, 'Parameters per layer'), barChart(bars, 'Parameter share per layer'));
}
