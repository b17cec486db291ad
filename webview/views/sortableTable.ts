// A flat table with a text filter and sortable columns, for per-tensor results (weight statistics, deltas).
// Missing values (null) sort last in either direction. Rendering is capped like the inspect table so a
// 100 000-tensor checkpoint stays responsive; "Show N more" lifts the cap.
import { h, type Child } from '../dom';

const INITIAL_ROWS = 500;

export interface Column<T> {
  label: string;
  /** Header tooltip: what the number means. */
  title?: string;
  numeric?: boolean;
  /** Columns without a sort value cannot be sorted. */
  sortValue?: (row: T) => number | string | null;
  cell: (row: T) => Child;
  /** Extra class on the cell (mono, share, ...). */
  cellClass?: string;
}

export interface SortableTableOptions<T> {
  id: string;
  heading: string;
  rows: T[];
  columns: Column<T>[];
  /** Text the filter matches against (lower-cased here). */
  filterText: (row: T) => string;
  filterPlaceholder: string;
  /** Index into columns of the initial sort, if any. */
  sort?: { column: number; descending: boolean };
  className?: string;
  /** What a row is, for the footer ("12 of 40 tensors"). */
  noun?: string;
  /** Rows become clickable (and focusable, Enter activates) when given. */
  onRowClick?: (row: T) => void;
}

export function sortableTable<T>(options: SortableTableOptions<T>): HTMLElement {
  const { rows, columns } = options;
  let filter = '';
  let sortColumn = options.sort?.column ?? null;
  let descending = options.sort?.descending ?? false;
  let showAll = false;
  const haystacks = rows.map((row) => options.filterText(row).toLowerCase());
  const body = h('tbody');
  const footer = h('div', { class: 'table-footer muted' });
  const headers: HTMLElement[] = [];

  const sorted = (indices: number[]): number[] => {
    const key = sortColumn === null ? undefined : columns[sortColumn]?.sortValue;
    if (!key) return indices;
    const values = new Map(indices.map((i) => [i, key(rows[i]!)]));
    return indices.sort((a, b) => {
      const va = values.get(a) ?? null;
      const vb = values.get(b) ?? null;
      if (va === null || vb === null) return va === vb ? a - b : va === null ? 1 : -1;
      const order = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
      return (descending ? -order : order) || a - b;
    });
  };

  const render = () => {
    const needle = filter.toLowerCase();
    const matching = sorted(rows.map((_, i) => i).filter((i) => !needle || haystacks[i]!.includes(needle)));
    const shown = showAll ? matching : matching.slice(0, INITIAL_ROWS);
    const click = options.onRowClick;
    body.replaceChildren(...shown.map((i) => h('tr', click ? {
      class: 'row clickable', tabindex: 0,
      onclick: () => click(rows[i]!),
      onkeydown: (event: Event) => { if ((event as KeyboardEvent).key === 'Enter') click(rows[i]!); },
    } : { class: 'row' },
      ...columns.map((c) => h('td', { class: [c.numeric ? 'num' : '', c.cellClass ?? ''].join(' ').trim() }, c.cell(rows[i]!))))));
    const hidden = matching.length - shown.length;
    footer.replaceChildren(
      `${matching.length} of ${rows.length} ${options.noun ?? 'tensors'}`,
      hidden > 0 ? h('vscode-button', { appearance: 'secondary', onclick: () => ((showAll = true), render()) }, `Show ${hidden} more`) : '',
    );
    headers.forEach((th, i) => th.setAttribute('aria-sort', i === sortColumn ? (descending ? 'descending' : 'ascending') : 'none'));
  };

  const header = (column: Column<T>, index: number) => {
    const th = h('th', { scope: 'col', class: column.numeric ? 'num' : '', title: column.title },
      column.sortValue
        ? h('button', { class: 'sort', onclick: () => {
          // Numbers are most interesting largest first; names alphabetically.
          descending = sortColumn === index ? !descending : Boolean(column.numeric);
          sortColumn = index;
          render();
        } }, column.label)
        : column.label);
    headers.push(th);
    return th;
  };

  const search = h('vscode-text-field', { placeholder: options.filterPlaceholder, 'aria-label': `Filter: ${options.heading}`, class: 'filter' });
  search.addEventListener('input', (event) => {
    filter = (event.target as HTMLInputElement).value ?? '';
    render();
  });
  const table = h('table', { class: `tensors ${options.className ?? ''}`.trim() },
    h('thead', {}, h('tr', {}, ...columns.map(header))),
    body,
  );
  render();
  return h('section', { 'aria-labelledby': `${options.id}-title` },
    h('h2', { id: `${options.id}-title` }, options.heading),
    h('div', { class: 'table-tools' }, search),
    table,
    footer,
  );
}
