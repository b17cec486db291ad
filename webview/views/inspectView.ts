// The checkpoint summary: architecture, parameters per layer as bars, and the tensor table (filter + sort).
import type { InspectResult } from '../../src/protocol/results';
import { formatBytes, formatCount } from '../../src/protocol/units';
import { basename, h, svg } from '../dom';
import { tensorTable } from './tensorTable';

export interface InspectActions {
  /** Opens a file of the checkpoint in the editor; undefined in the standalone report. */
  openFile?: (path: string) => void;
}


/**
 * `stats`: the weight-statistics section, `layers`: layer importance on text; placed between the layer bars and
 * the tensor table when given.
 */
export function inspectView(result: InspectResult, actions: InspectActions, stats?: HTMLElement, layers?: HTMLElement): HTMLElement {
  return h('main', { class: 'inspect' },
    header(result, actions),
    result.warnings.length > 0 ? h('ul', { class: 'warnings', 'aria-label': 'Warnings' }, ...result.warnings.map((w) => h('li', {}, w))) : null,
    architecture(result, actions),
    adapterCard(result, actions),
    layerBars(result),
    layers,
    stats,
    tensorTable(result.tensors, result.parameters),
  );
}

function header(result: InspectResult, actions: InspectActions): HTMLElement {
  const files = result.files.length === 1 ? basename(result.files[0]!) : `${result.files.length} files`;
  return h('header', {},
    h('h1', {}, basename(result.path)),
    h('p', { class: 'muted' }, `${result.format} · ${formatCount(result.parameters)} parameters · ${result.tensors.length} tensors · ${formatBytes(result.bytes)} in ${files}`),
    result.files.length > 1 && actions.openFile ? h('p', { class: 'muted' }, `Shards: ${result.files.map(basename).join(', ')}`) : null,
  );
}

function architecture(result: InspectResult, actions: InspectActions): HTMLElement {
  const a = result.architecture;
  const fields: [string, number | string | null][] = [
    ['family', a.family], ['layers', a.layers], ['hidden', a.hidden], ['heads', a.heads], ['KV heads', a.kvHeads],
    ['intermediate', a.intermediate], ['vocab', a.vocab], ...(a.experts !== null ? [['experts', a.experts] as [string, number]] : []),
  ];
  const configPath = a.configPath;
  const source = configPath && actions.openFile
    ? h('a', { href: '#', class: 'source-link', onclick: (e: Event) => (e.preventDefault(), actions.openFile!(configPath)) }, 'config.json')
    : a.source === 'config' ? 'config.json' : a.source === 'metadata' ? 'the file\'s metadata' : 'tensor names and shapes';
  return h('section', { 'aria-labelledby': 'arch-title' },
    h('h2', { id: 'arch-title' }, 'Architecture ', h('span', { class: 'muted small' }, 'from ', source)),
    h('dl', { class: 'arch-grid' }, ...fields.map(([label, value]) => h('div', {}, h('dt', {}, label), h('dd', {}, value === null ? '—' : String(value))))),
  );
}

function adapterCard(result: InspectResult, actions: InspectActions): HTMLElement | null {
  const a = result.adapter;
  if (!a) return null;
  const fields: [string, string][] = [
    ['type', a.peftType ?? '—'], ['rank r', a.r === null ? '—' : String(a.r)], ['alpha', a.alpha === null ? '—' : String(a.alpha)],
    ['scale', a.scale === null ? '—' : String(Number(a.scale.toPrecision(4)))], ['A/B pairs', String(a.pairs)],
    ['targets', a.targetModules.join(', ') || '—'], ['base model', a.baseModel ?? '—'],
  ];
  const source = actions.openFile
    ? h('a', { href: '#', class: 'source-link', onclick: (e: Event) => (e.preventDefault(), actions.openFile!(a.configPath)) }, 'adapter_config.json')
    : 'adapter_config.json';
  return h('section', { 'aria-labelledby': 'adapter-title' },
    h('h2', { id: 'adapter-title' }, 'Adapter ', h('span', { class: 'muted small' }, 'from ', source)),
    h('dl', { class: 'arch-grid' }, ...fields.map(([label, value]) => h('div', {}, h('dt', {}, label), h('dd', {}, value)))),
  );
}

function layerBars(result: InspectResult): HTMLElement | null {
  if (result.layers.length === 0) return null;
  const rowHeight = 18;
  const labelWidth = 110;
  const barWidth = 360;
  const max = Math.max(...result.layers.map((l) => l.share), 1e-12);
  const chart = svg('svg', { class: 'bars', width: labelWidth + barWidth + 120, height: result.layers.length * rowHeight, role: 'img', 'aria-label': 'Parameter share per layer' },
    ...result.layers.map((layer, i) => {
      const y = i * rowHeight;
      const label = layer.index === null ? 'outside blocks' : `layer ${layer.index}`;
      const width = Math.max(1, (layer.share / max) * barWidth);
      return svg('g', {},
        svg('title', {}, `${label}: ${formatCount(layer.params)} parameters (${(layer.share * 100).toFixed(2)}%)`),
        svg('text', { x: labelWidth - 8, y: y + 13, 'text-anchor': 'end', class: 'bar-label' }, label),
        svg('rect', { x: labelWidth, y: y + 3, width, height: rowHeight - 6, rx: 2, class: layer.index === null ? 'bar other' : 'bar' }),
        svg('text', { x: labelWidth + width + 6, y: y + 13, class: 'bar-value' }, `${(layer.share * 100).toFixed(1)}%`),
      );
    }),
  );
  return h('section', { 'aria-labelledby': 'bars-title' }, h('h2', { id: 'bars-title' }, 'Parameters per layer'), chart);
}

