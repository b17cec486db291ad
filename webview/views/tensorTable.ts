// The tensor table: grouped by layer (collapsible) or flat, filterable by name/module/dtype, sortable by column.
// Rendering is capped so a 100 000-tensor checkpoint stays responsive; "Show all" lifts the cap.
import type { InspectTensor } from '../../src/protocol/results';
import { formatCount } from '../../src/protocol/units';
import { h } from '../dom';

const INITIAL_ROWS = 500;
const COLUMNS = 7;
type SortKey = 'name' | 'layer' | 'module' | 'dtype' | 'count';

function groupLabel(layer: number | null): string {
  return layer === null ? 'Outside blocks' : `Layer ${layer}`;
}

export function tensorTable(tensors: InspectTensor[], parameters: number): HTMLElement {
  let filter = '';
  let sortKey: SortKey | null = null;
  let descending = false;
  let showAll = false;
  let grouped = true;
  const collapsed = new Set<number | null>();
  const body = h('tbody');
  const footer = h('div', { class: 'table-footer muted' });
  const headers = new Map<SortKey, HTMLElement>();
  const largest = Math.max(...tensors.map((t) => t.count), 1);

  const compare = (a: InspectTensor, b: InspectTensor): number => {
    if (sortKey === null) return 0;
    const va = sortKey === 'layer' ? (a.layer ?? -1) : a[sortKey];
    const vb = sortKey === 'layer' ? (b.layer ?? -1) : b[sortKey];
    const order = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
    return descending ? -order : order;
  };

  const groupRow = (layer: number | null, members: InspectTensor[]) => {
    const params = members.reduce((sum, t) => sum + t.count, 0);
    const open = !collapsed.has(layer);
    const share = parameters > 0 ? ` (${((params / parameters) * 100).toFixed(1)}%)` : '';
    return h('tr', { class: 'group' }, h('td', { colspan: COLUMNS },
      h('button', { class: 'group-toggle', 'aria-expanded': String(open), onclick: () => {
        if (open) collapsed.add(layer);
        else collapsed.delete(layer);
        render();
      } }, `${open ? '▾' : '▸'} ${groupLabel(layer)}`),
      h('span', { class: 'muted' }, ` · ${members.length} tensors · ${formatCount(params)} parameters${share}`),
    ));
  };

  const render = () => {
    const needle = filter.toLowerCase();
    const rows = tensors.filter((t) => !needle || t.name.toLowerCase().includes(needle) || t.module.includes(needle) || t.dtype.toLowerCase() === needle);
    if (sortKey !== null) rows.sort(compare);
    const budget = showAll ? Infinity : INITIAL_ROWS;
    const out: HTMLElement[] = [];
    let shown = 0;
    if (grouped) {
      const groups = new Map<number | null, InspectTensor[]>();
      for (const t of rows) groups.set(t.layer, [...(groups.get(t.layer) ?? []), t]);
      const order = [...groups.keys()].sort((a, b) => (a === null ? -1 : b === null ? 1 : a - b));
      for (const layer of order) {
        const members = groups.get(layer)!;
        out.push(groupRow(layer, members));
        if (collapsed.has(layer)) continue;
        for (const t of members) if (shown++ < budget) out.push(tensorRow(t, parameters, largest));
      }
    } else {
      for (const t of rows) if (shown++ < budget) out.push(tensorRow(t, parameters, largest));
    }
    body.replaceChildren(...out);
    const hidden = Math.max(0, shown - budget);
    footer.replaceChildren(
      `${rows.length} of ${tensors.length} tensors`,
      hidden > 0 ? h('vscode-button', { appearance: 'secondary', onclick: () => ((showAll = true), render()) }, `Show ${hidden} more`) : '',
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
  const groupToggle = h('vscode-checkbox', { checked: true, class: 'group-by-layer' }, 'Group by layer');
  groupToggle.addEventListener('change', (event) => {
    grouped = (event.target as HTMLInputElement).checked;
    render();
  });
  const table = h('table', { class: 'tensors' },
    h('thead', {}, h('tr', {}, column('name', 'Tensor'), column('layer', 'Layer', true), column('module', 'Module'), column('dtype', 'DType'), h('th', { scope: 'col' }, 'Shape'), column('count', 'Parameters', true), h('th', { scope: 'col' }, 'Share'))),
    body,
  );
  render();
  return h('section', { 'aria-labelledby': 'tensors-title' }, h('h2', { id: 'tensors-title' }, 'Tensors'), h('div', { class: 'table-tools' }, search, groupToggle), table, footer);
}

/** The bar is scaled to the largest tensor so that small differences stay visible; the tooltip has the share. */
function tensorRow(t: InspectTensor, parameters: number, largest: number): HTMLElement {
  const share = parameters > 0 ? t.count / parameters : 0;
  const bar = h('span', { class: 'share-bar' });
  bar.style.width = `${Math.max((t.count / largest) * 100, 0.5)}%`;
  return h('tr', { class: 'tensor' },
    h('td', { class: 'mono' }, t.name),
    h('td', { class: 'num' }, t.layer === null ? '—' : String(t.layer)),
    h('td', {}, h('span', { class: `module module-${t.module.replace('.', '-')}` }, t.module)),
    h('td', { class: 'mono' }, t.dtype),
    h('td', { class: 'mono' }, `[${t.shape.join(', ')}]`),
    h('td', { class: 'num' }, formatCount(t.count)),
    h('td', { class: 'share', title: `${(share * 100).toFixed(3)}% of all parameters` }, h('span', { class: 'share-track' }, bar)),
  );
}
