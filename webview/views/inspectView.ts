// The checkpoint summary: architecture, parameters per layer as bars, and the tensor table (filter + sort).
import type { InspectResult, InspectTensor } from '../../src/protocol/results';
import { formatBytes, formatCount } from '../../src/protocol/units';
import { basename, h, svg } from '../dom';

export interface InspectActions {
  /** Opens a file of the checkpoint in the editor; undefined in the standalone report. */
  openFile?: (path: string) => void;
}

const INITIAL_ROWS = 500;
type SortKey = 'name' | 'layer' | 'module' | 'dtype' | 'count';

export function inspectView(result: InspectResult, actions: InspectActions): HTMLElement {
  return h('main', { class: 'inspect' },
    header(result, actions),
    result.warnings.length > 0 ? h('ul', { class: 'warnings', 'aria-label': 'Warnings' }, ...result.warnings.map((w) => h('li', {}, w))) : null,
    architecture(result, actions),
    layerBars(result),
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

function tensorTable(tensors: InspectTensor[], parameters: number): HTMLElement {
  let filter = '';
  let sortKey: SortKey | null = null;
  let descending = false;
  let showAll = false;
  const body = h('tbody');
  const footer = h('div', { class: 'table-footer muted' });
  const headers = new Map<SortKey, HTMLElement>();

  const compare = (a: InspectTensor, b: InspectTensor): number => {
    if (sortKey === null) return 0;
    const va = sortKey === 'layer' ? (a.layer ?? -1) : a[sortKey];
    const vb = sortKey === 'layer' ? (b.layer ?? -1) : b[sortKey];
    const order = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
    return descending ? -order : order;
  };

  const largest = Math.max(...tensors.map((t) => t.count), 1);
  const render = () => {
    const needle = filter.toLowerCase();
    const rows = tensors.filter((t) => !needle || t.name.toLowerCase().includes(needle) || t.module.includes(needle) || t.dtype.toLowerCase() === needle);
    if (sortKey !== null) rows.sort(compare);
    const shown = showAll ? rows : rows.slice(0, INITIAL_ROWS);
    body.replaceChildren(...shown.map((t) => tensorRow(t, parameters, largest)));
    footer.replaceChildren(
      `${rows.length} of ${tensors.length} tensors`,
      rows.length > shown.length ? h('vscode-button', { appearance: 'secondary', onclick: () => ((showAll = true), render()) }, `Show all ${rows.length}`) : '',
    );
    for (const [key, th] of headers) th.setAttribute('aria-sort', key === sortKey ? (descending ? 'descending' : 'ascending') : 'none');
  };

  const column = (key: SortKey, label: string, numeric = false) => {
    const th = h('th', { scope: 'col', class: numeric ? 'num' : '' },
      h('button', { class: 'sort', onclick: () => {
        descending = sortKey === key ? !descending : key === 'count';
        sortKey = key;
        render();
      } }, label));
    headers.set(key, th);
    return th;
  };

  const search = h('vscode-text-field', { placeholder: 'Filter by name, module or dtype', 'aria-label': 'Filter tensors', class: 'filter' });
  search.addEventListener('input', (event) => {
    filter = (event.target as HTMLInputElement).value ?? '';
    render();
  });
  const table = h('table', { class: 'tensors' },
    h('thead', {}, h('tr', {}, column('name', 'Tensor'), column('layer', 'Layer', true), column('module', 'Module'), column('dtype', 'DType'), h('th', { scope: 'col' }, 'Shape'), column('count', 'Parameters', true), h('th', { scope: 'col' }, 'Share'))),
    body,
  );
  render();
  return h('section', { 'aria-labelledby': 'tensors-title' }, h('h2', { id: 'tensors-title' }, 'Tensors'), search, table, footer);
}

/** The bar is scaled to the largest tensor so that small differences stay visible; the tooltip has the share. */
function tensorRow(t: InspectTensor, parameters: number, largest: number): HTMLElement {
  const share = parameters > 0 ? t.count / parameters : 0;
  const bar = h('span', { class: 'share-bar' });
  bar.style.width = `${Math.max((t.count / largest) * 100, 0.5)}%`;
  return h('tr', {},
    h('td', { class: 'mono' }, t.name),
    h('td', { class: 'num' }, t.layer === null ? '—' : String(t.layer)),
    h('td', {}, h('span', { class: `module module-${t.module.replace('.', '-')}` }, t.module)),
    h('td', { class: 'mono' }, t.dtype),
    h('td', { class: 'mono' }, `[${t.shape.join(', ')}]`),
    h('td', { class: 'num' }, formatCount(t.count)),
    h('td', { class: 'share', title: `${(share * 100).toFixed(3)}% of all parameters` }, h('span', { class: 'share-track' }, bar)),
  );
}
