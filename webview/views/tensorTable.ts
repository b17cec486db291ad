// The tensor table: grouped by layer (collapsible) or flat, filterable by name/module/dtype, sortable by any
// column, with the weight statistics as extra columns once computed. Virtualised: rows have one fixed height and
// only those in (or near) the scroll box are in the DOM, so 100 000 tensors scroll like 100. A row opens the
// tensor's detail.
import type { InspectTensor, TensorStats } from '../../src/protocol/results';
import { formatCount } from '../../src/protocol/units';
import { h } from '../dom';
import { formatPercent, formatValue } from '../format';

export const ROW_HEIGHT = 26;
/** Rows rendered above and below the visible ones: keyboard and fast scrolling never meet an empty row. */
const OVERSCAN = 30;
const NAME_MIN = 330;

export interface TensorTableState {
  filter: string;
  sort: string | null;
  descending: boolean;
  grouped: boolean;
  selected: string | null;
}

export interface TensorTableOptions {
  tensors: InspectTensor[];
  parameters: number;
  state: TensorTableState;
  onChange: (state: TensorTableState) => void;
  onSelect: (tensor: InspectTensor) => void;
}

export interface TensorTable {
  element: HTMLElement;
  setStats(stats: Map<string, TensorStats> | null): void;
  /** Scrolls to the tensor's row (expanding its group, clearing a filter that hides it) and selects it. */
  reveal(name: string): void;
  /** The box became visible (a tab switch): draw the rows it now has room for. */
  refresh(): void;
  /** Narrow (the detail beside it): the share bars give their width to the names. */
  setNarrow(narrow: boolean): void;
}

interface ColumnSpec {
  key: string;
  label: string;
  title?: string;
  numeric?: boolean;
  width: string;
  value?: (t: InspectTensor, s: TensorStats | undefined) => number | string | null;
  cell: (t: InspectTensor, s: TensorStats | undefined) => Node | string;
}

type Item = { kind: 'group'; layer: number | null; count: number; params: number } | { kind: 'tensor'; index: number };

export function tensorTable(options: TensorTableOptions): TensorTable {
  const { tensors, parameters } = options;
  const state: TensorTableState = { ...options.state };
  let stats: Map<string, TensorStats> | null = null;
  let narrow = false;
  const collapsed = new Set<number | null>();
  const haystacks = tensors.map((t) => `${t.name} ${t.module} ${t.dtype}`.toLowerCase());
  const largest = tensors.reduce((m, t) => Math.max(m, t.count), 1);
  let items: Item[] = [];
  let drawn = { first: -1, last: -1 };

  const baseColumns: ColumnSpec[] = [
    { key: 'name', label: 'Tensor', width: 'auto', value: (t) => t.name, cell: (t) => h('button', { class: 'tensor-open mono', title: t.name }, t.name) },
    { key: 'layer', label: 'Layer', numeric: true, width: '64px', value: (t) => t.layer ?? -1, cell: (t) => (t.layer === null ? '—' : String(t.layer)) },
    { key: 'module', label: 'Module', width: '92px', value: (t) => t.module, cell: (t) => h('span', { class: `module module-${t.module.replace('.', '-')}` }, t.module) },
    { key: 'dtype', label: 'DType', width: '72px', value: (t) => t.dtype, cell: (t) => t.dtype },
    { key: 'shape', label: 'Shape', width: '120px', cell: (t) => `[${t.shape.join(', ')}]` },
    { key: 'count', label: 'Parameters', numeric: true, width: '96px', value: (t) => t.count, cell: (t) => formatCount(t.count) },
    { key: 'share', label: 'Share', width: '96px', cell: (t) => shareBar(t, parameters, largest) },
  ];
  const statColumn = (key: keyof TensorStats, label: string, title: string, percent = false): ColumnSpec => ({
    key, label, title, numeric: true, width: '82px',
    value: (_, s) => (s?.[key] as number | null | undefined) ?? null,
    cell: (_, s) => {
      const v = (s?.[key] as number | null | undefined) ?? null;
      return percent ? formatPercent(v) : formatValue(v);
    },
  });
  const statColumns: ColumnSpec[] = [
    statColumn('l2', 'L2', 'Frobenius norm'),
    statColumn('std', 'Std', 'Population standard deviation'),
    statColumn('absmax', 'Absmax', 'Largest |x|'),
    statColumn('kurtosis', 'Kurtosis', 'Excess kurtosis (0 for a normal distribution)'),
    statColumn('outliers', '>6σ', 'Elements more than 6σ from the mean: quantisation sensitivity', true),
    statColumn('stableRank', 'St. rank', 'Stable rank ‖W‖²_F/‖W‖²_2 of 2-D weights'),
  ];
  const columns = () => [...baseColumns.filter((c) => !(narrow && c.key === 'share')), ...(stats ? statColumns : [])];

  const body = h('tbody');
  const head = h('thead');
  const colgroup = h('colgroup');
  const table = h('table', { class: 'tensors virtual', role: 'grid', 'aria-label': 'Tensors' }, colgroup, head, body);
  const scroller = h('div', { class: 'tensor-scroll' }, table);
  const footer = h('div', { class: 'table-footer muted', role: 'status', 'aria-live': 'polite' });

  const compareBy = (column: ColumnSpec | undefined) => {
    if (!column?.value) return null;
    const values = tensors.map((t) => column.value!(t, stats?.get(t.name)));
    const sign = state.descending ? -1 : 1;
    return (a: number, b: number) => {
      const va = values[a]!;
      const vb = values[b]!;
      if (va === null || vb === null) return va === vb ? a - b : va === null ? 1 : -1; // missing last either way
      return (va < vb ? -sign : va > vb ? sign : 0) || a - b;
    };
  };

  const rebuild = () => {
    const needle = state.filter.toLowerCase();
    const matching: number[] = [];
    for (let i = 0; i < tensors.length; i++) if (!needle || haystacks[i]!.includes(needle)) matching.push(i);
    const compare = compareBy(columns().find((c) => c.key === state.sort));
    if (compare) matching.sort(compare);
    items = [];
    if (state.grouped) {
      const groups = new Map<number | null, number[]>();
      for (const i of matching) {
        const layer = tensors[i]!.layer;
        let members = groups.get(layer);
        if (!members) groups.set(layer, (members = []));
        members.push(i);
      }
      const order = [...groups.keys()].sort((a, b) => (a === null ? -1 : b === null ? 1 : a - b));
      for (const layer of order) {
        const members = groups.get(layer)!;
        items.push({ kind: 'group', layer, count: members.length, params: members.reduce((s, i) => s + tensors[i]!.count, 0) });
        if (!collapsed.has(layer)) for (const index of members) items.push({ kind: 'tensor', index });
      }
    } else {
      for (const index of matching) items.push({ kind: 'tensor', index });
    }
    table.setAttribute('aria-rowcount', String(items.length + 1));
    footer.replaceChildren(`${matching.length} of ${tensors.length} tensors`);
    drawn = { first: -1, last: -1 };
    draw();
  };

  const spacer = (height: number) => {
    const cell = h('td', { colspan: columns().length });
    cell.style.height = `${height}px`;
    return h('tr', { class: 'spacer', 'aria-hidden': 'true' }, cell);
  };

  const itemRow = (item: Item, position: number): HTMLElement => {
    if (item.kind === 'group') {
      const open = !collapsed.has(item.layer);
      const share = parameters > 0 ? ` (${((item.params / parameters) * 100).toFixed(1)}%)` : '';
      return h('tr', { class: 'group', 'aria-rowindex': position + 2 }, h('td', { colspan: columns().length },
        h('button', { class: 'group-toggle', 'aria-expanded': String(open), 'data-pos': position, onclick: () => {
          if (open) collapsed.add(item.layer);
          else collapsed.delete(item.layer);
          rebuild();
          (body.querySelector(`[data-pos="${position}"]`) as HTMLElement | null)?.focus();
        } }, `${open ? '▾' : '▸'} ${item.layer === null ? 'Outside blocks' : `Layer ${item.layer}`}`),
        h('span', { class: 'muted' }, ` · ${item.count} tensors · ${formatCount(item.params)} parameters${share}`),
      ));
    }
    const t = tensors[item.index]!;
    const s = stats?.get(t.name);
    const selected = state.selected === t.name;
    const row = h('tr', { class: selected ? 'tensor selected' : 'tensor', 'aria-rowindex': position + 2, 'aria-selected': String(selected) },
      ...columns().map((c) => h('td', { class: [c.numeric ? 'num' : '', c.key === 'name' || c.key === 'dtype' || c.key === 'shape' ? 'mono' : '', c.key === 'share' ? 'share' : ''].join(' ').trim() }, c.cell(t, s))));
    const open = row.querySelector('.tensor-open') as HTMLElement;
    open.dataset.pos = String(position);
    row.addEventListener('click', () => select(t));
    return row;
  };

  const draw = (force = false) => {
    // The box may be shrunk to a filtered table's height right now: draw for the tallest it can grow to.
    const viewport = Math.max(scroller.clientHeight, window.innerHeight || 600);
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(items.length, Math.ceil((scroller.scrollTop + viewport) / ROW_HEIGHT) + OVERSCAN);
    if (!force && first === drawn.first && last === drawn.last) return;
    drawn = { first, last };
    const rows: HTMLElement[] = [];
    if (first > 0) rows.push(spacer(first * ROW_HEIGHT));
    for (let p = first; p < last; p++) rows.push(itemRow(items[p]!, p));
    if (last < items.length) rows.push(spacer((items.length - last) * ROW_HEIGHT));
    if (items.length === 0) rows.push(h('tr', {}, h('td', { colspan: columns().length, class: 'muted' }, 'No tensor matches the filter.')));
    body.replaceChildren(...rows);
  };

  const renderHead = () => {
    // Fixed layout keeps columns still while rows scroll in; the name column takes the rest, at least NAME_MIN.
    table.style.minWidth = `${columns().reduce((sum, c) => sum + (c.width === 'auto' ? NAME_MIN : parseInt(c.width, 10)), 0)}px`;
    colgroup.replaceChildren(...columns().map((c) => {
      const col = h('col');
      if (c.width !== 'auto') col.style.width = c.width;
      return col;
    }));
    head.replaceChildren(h('tr', { 'aria-rowindex': 1 }, ...columns().map((c) => {
      const sorted = state.sort === c.key;
      return h('th', { scope: 'col', class: c.numeric ? 'num' : '', title: c.title, 'aria-sort': sorted ? (state.descending ? 'descending' : 'ascending') : 'none' },
        c.value ? h('button', { class: 'sort', onclick: () => {
          // Numbers are most interesting largest first; names alphabetically.
          state.descending = state.sort === c.key ? !state.descending : Boolean(c.numeric);
          state.sort = c.key;
          options.onChange({ ...state });
          renderHead();
          rebuild();
          (head.querySelector(`th[aria-sort="${state.descending ? 'descending' : 'ascending'}"] .sort`) as HTMLElement | null)?.focus();
        } }, c.label) : c.label);
    })));
  };

  const select = (t: InspectTensor) => {
    state.selected = t.name;
    options.onChange({ ...state });
    for (const row of body.querySelectorAll('tr.tensor.selected')) row.classList.remove('selected');
    draw(true);
    options.onSelect(t);
  };

  /** Puts item `position` inside the scroll box and draws it now. */
  const scrollTo = (position: number) => {
    const header = head.getBoundingClientRect().height || ROW_HEIGHT;
    const top = position * ROW_HEIGHT;
    if (top < scroller.scrollTop) scroller.scrollTop = top;
    else if (top + ROW_HEIGHT + header > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = top + ROW_HEIGHT + header - scroller.clientHeight;
    draw();
  };

  // Up/Down move between rows (drawing those scrolled in), Enter/Space on a row opens it (the buttons do that).
  body.addEventListener('keydown', (event) => {
    const target = event.target as HTMLElement;
    const position = Number(target.dataset.pos);
    if (!Number.isInteger(position) || (event.key !== 'ArrowDown' && event.key !== 'ArrowUp')) return;
    const next = position + (event.key === 'ArrowDown' ? 1 : -1);
    if (next < 0 || next >= items.length) return;
    event.preventDefault();
    scrollTo(next);
    (body.querySelector(`[data-pos="${next}"]`) as HTMLElement | null)?.focus();
  });

  // A tab switch or a resized panel changes the box's height without a scroll event.
  new ResizeObserver(() => draw()).observe(scroller);
  let frame = 0;
  scroller.addEventListener('scroll', () => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      draw();
    });
  });

  const search = h('vscode-text-field', { placeholder: 'Filter by name, module or dtype', 'aria-label': 'Filter tensors', class: 'filter', value: state.filter });
  search.addEventListener('input', (event) => {
    state.filter = (event.target as HTMLInputElement).value ?? '';
    options.onChange({ ...state });
    scroller.scrollTop = 0;
    rebuild();
  });
  const groupToggle = h('vscode-checkbox', { checked: state.grouped, class: 'group-by-layer' }, 'Group by layer');
  groupToggle.addEventListener('change', (event) => {
    event.stopPropagation(); // not the view switcher's change
    state.grouped = (event.target as HTMLInputElement).checked;
    options.onChange({ ...state });
    rebuild();
  });

  renderHead();
  rebuild();
  const element = h('section', { class: 'tensor-table', 'aria-label': 'Tensors' }, h('div', { class: 'table-tools' }, search, groupToggle, footer), scroller);
  return {
    element,
    setStats(next) {
      stats = next;
      renderHead();
      rebuild();
    },
    reveal(name) {
      const index = tensors.findIndex((t) => t.name === name);
      if (index < 0) return;
      const t = tensors[index]!;
      if (state.filter && !haystacks[index]!.includes(state.filter.toLowerCase())) {
        state.filter = '';
        (search as HTMLElement & { value: string }).value = '';
      }
      collapsed.delete(t.layer);
      rebuild();
      const position = items.findIndex((item) => item.kind === 'tensor' && item.index === index);
      select(t);
      // After a tab switch the box has its height only once laid out.
      requestAnimationFrame(() => {
        scrollTo(position);
        const row = body.querySelector(`[data-pos="${position}"]`) as HTMLElement | null;
        row?.focus({ preventScroll: true });
        row?.closest('tr')?.classList.add('flash');
      });
    },
    refresh: () => draw(true),
    setNarrow(next) {
      if (next === narrow) return;
      narrow = next;
      renderHead();
      rebuild();
    },
  };
}

/** The bar is scaled to the largest tensor so that small differences stay visible; the tooltip has the share. */
function shareBar(t: InspectTensor, parameters: number, largest: number): HTMLElement {
  const share = parameters > 0 ? t.count / parameters : 0;
  const bar = h('span', { class: 'share-bar' });
  bar.style.width = `${Math.max((t.count / largest) * 100, 0.5)}%`;
  return h('span', { class: 'share-track', title: `${(share * 100).toFixed(3)}% of all parameters` }, bar);
}
