// The Dataset panel: a CSV's profile, and either its column importance vs a target (mutual information and the
// model's permutation importance side by side, with their rank agreement) or its DSIR row weights (the highest- and
// lowest-weight rows, each linked to its line in the CSV).
import type { CsvColumnImportance, CsvColumnProfile, CsvColumnsResult, CsvDatasetView, CsvInspectResult, CsvRowsSummary, CsvWeightedRow } from '../../src/protocol/csv';
import { formatBytes, formatCount, formatPercent, formatValue } from '../../src/protocol/units';
import { basename, h } from '../dom';
import { barChart, type Bar } from './barChart';
import { sortableTable, type Column } from './sortableTable';

export interface DatasetActions {
  revealLine?: (line: number) => void;
  openFile?: (path: string) => void;
}

export function datasetView(view: CsvDatasetView, actions: DatasetActions = {}): HTMLElement {
  const { profile, analysis } = view;
  const warnings = [...new Set([...profile.warnings, ...(analysis?.warnings ?? [])])];
  const importance = analysis?.kind === 'columns' ? analysis : null;
  return h('main', { class: 'dataset' },
    header(profile),
    warnings.length > 0 ? h('ul', { class: 'warnings', 'aria-label': 'Warnings' }, ...warnings.map((w) => h('li', {}, w))) : null,
    analysis === null ? null : analysis.kind === 'columns' ? importanceSection(analysis) : rowsSection(analysis, actions),
    columnTable(profile, importance),
  );
}

const DELIMITERS: Record<string, string> = { ',': 'comma', ';': 'semicolon', '\t': 'tab', '|': 'pipe', ' ': 'space' };

function header(profile: CsvInspectResult): HTMLElement {
  const fields: [string, string, string][] = [
    ['rows', formatCount(profile.rows), `${profile.rows} data rows (the header not counted)`],
    ['columns', String(profile.columns.length), 'Columns in the header'],
    ['size', formatBytes(profile.bytes), `${profile.bytes} bytes`],
    ['delimiter', DELIMITERS[profile.delimiter] ?? JSON.stringify(profile.delimiter), 'Sniffed from the first records'],
    ['header', profile.header ? 'yes' : 'no', 'Whether the first record names the columns'],
  ];
  return h('header', {},
    h('h1', {}, basename(profile.path)),
    h('p', { class: 'muted mono' }, profile.path),
    grid(fields),
  );
}

function grid(fields: [string, string, string][], className = 'totals'): HTMLElement {
  return h('dl', { class: `arch-grid ${className}` }, ...fields.map(([label, value, title]) => h('div', { title }, h('dt', {}, label), h('dd', {}, value))));
}

/** Room for column names left of the bars; longer names are cut, with the whole name in the bar's tooltip. */
const LABEL_WIDTH = 170;
const LABEL_CHARS = 23;

function shortLabel(name: string): string {
  return name.length > LABEL_CHARS ? `${name.slice(0, LABEL_CHARS - 1)}…` : name;
}

/** 1-based ranks by descending value; null values rank last. */
function ranks(values: (number | null)[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => (values[b] ?? -Infinity) - (values[a] ?? -Infinity) || a - b);
  const rank = new Array<number>(values.length);
  order.forEach((i, r) => { rank[i] = r + 1; });
  return rank;
}

function importanceSection(result: CsvColumnsResult): HTMLElement {
  const { columns, model } = result;
  const mi = columns.map((c) => c.mutualInformation);
  const permutation = columns.map((c) => c.permutation?.mean ?? null);
  const miRank = ranks(mi);
  const permutationRank = ranks(permutation);
  const metric = model?.metric === 'r2' ? 'R²' : 'accuracy';
  const modelName = model ? (model.kind === 'onnx' ? basename(model.path ?? 'model.onnx') : 'random forest') : null;
  const fields: [string, string, string][] = [
    ['target', result.target, 'The column the others are scored against'],
    ['task', result.task, 'Classification for categories and few integer values, regression otherwise'],
    ['model', modelName ?? 'none', model ? `${model.kind === 'onnx' ? `ONNX model ${model.path}` : 'Built-in random forest, cross-fitted on a sample of the rows'}` : 'Too few rows for permutation importance'],
    ...(model ? [[metric, formatValue(model.score), `${metric} of the model on ${model.testRows} held-out rows before any shuffling`] as [string, string, string]] : []),
    ['rank agreement', result.agreement === null ? '—' : `ρ ${result.agreement.toFixed(2)}`, 'Spearman rank correlation between mutual information and permutation importance'],
    ['device', result.device, 'Where the model ran'],
  ];
  const miBars: Bar[] = columns.map((c, i) => ({
    label: shortLabel(c.name),
    value: c.mutualInformation,
    valueText: `${formatValue(c.mutualInformation)} · #${miRank[i]}`,
    title: `${c.name}: mutual information ${formatValue(c.mutualInformation)} nats (rank ${miRank[i]} of ${columns.length})`,
  }));
  const permutationBars: Bar[] = columns.map((c, i) => ({
    label: shortLabel(c.name),
    value: c.permutation ? Math.max(c.permutation.mean, 0) : null,
    valueText: c.permutation ? `${formatValue(c.permutation.mean)} ± ${formatValue(c.permutation.sd)} · #${permutationRank[i]}` : 'not permuted',
    title: c.permutation
      ? `${c.name}: shuffling it lowers the ${metric} by ${formatValue(c.permutation.mean)} ± ${formatValue(c.permutation.sd)} (mean ± sd over ${model?.repeats ?? 0} repeats; rank ${permutationRank[i]})`
      : `${c.name}: not permuted`,
  }));
  return h('section', { 'aria-labelledby': 'importance-title' },
    h('h2', { id: 'importance-title' }, `Column importance vs ${result.target} `, h('span', { class: 'muted small' }, `rank 1 = most important (by ${columns[0]?.method === 'permutation' ? 'permutation' : 'mutual information'})`)),
    grid(fields, 'importance-facts'),
    h('div', { class: 'importance-charts' },
      h('figure', {},
        h('figcaption', {}, h('strong', {}, 'Mutual information'), h('span', { class: 'muted' }, ' with the target, nats (binned, Miller–Madow corrected)')),
        barChart(miBars, `Mutual information of each column with ${result.target}`, { labelWidth: LABEL_WIDTH })),
      model ? h('figure', {},
        h('figcaption', {}, h('strong', {}, 'Permutation importance'), h('span', { class: 'muted' }, ` drop in ${metric} when the column is shuffled, mean ± sd over ${model.repeats} repeats`)),
        barChart(permutationBars, `Permutation importance of each column for ${result.target}`, { labelWidth: LABEL_WIDTH })) : null,
    ),
    result.skipped.length > 0
      ? h('p', { class: 'muted skipped' }, 'Not scored: ', result.skipped.map((s) => `${s.name} (${s.reason})`).join('; '))
      : null,
  );
}

function rowsSection(summary: CsvRowsSummary, actions: DatasetActions): HTMLElement {
  const resampled = summary.resampled;
  const fields: [string, string, string][] = [
    ['text column', summary.textColumn, 'The column whose text is weighed'],
    ['target sample', basename(summary.targetFile), summary.targetFile],
    ['rows weighted', formatCount(summary.count), `${summary.count} rows`],
    ['n-gram buckets', formatCount(summary.buckets), 'Hashed unigram and bigram features'],
  ];
  return h('section', { 'aria-labelledby': 'rows-title' },
    h('h2', { id: 'rows-title' }, `Row importance of ${summary.textColumn} `, h('span', { class: 'muted small' }, 'DSIR importance weights')),
    h('p', { class: 'muted metric-definition' }, 'weight = Σ over the row’s hashed unigrams and bigrams of log p_target − log p_raw: higher means more like the target sample. Click a row to see its line in the CSV.'),
    grid(fields, 'importance-facts'),
    resampled
      ? h('p', { class: 'resampled' }, `${resampled.k} rows drawn ∝ exp(weight) into `,
        actions.openFile ? h('a', { href: '#', class: 'source-link', onclick: (event: Event) => { event.preventDefault(); actions.openFile!(resampled.out); } }, basename(resampled.out)) : h('span', { class: 'mono' }, basename(resampled.out)))
      : null,
    weightChart(summary),
    h('div', { class: 'row-tables' },
      rowTable('rows-highest', 'Highest weights', summary.highest, true, actions),
      rowTable('rows-lowest', 'Lowest weights', summary.lowest, false, actions),
    ),
  );
}

/** The spread of the weights, highest bin first (where the "Highest weights" table starts). */
function weightChart(summary: CsvRowsSummary): HTMLElement | null {
  const { edges, counts } = summary.histogram;
  if (counts.length === 0) return null;
  const bars: Bar[] = counts.map((count, i) => ({
    label: `≥ ${formatValue(edges[i]!)}`,
    value: count,
    valueText: formatCount(count),
    title: `${count} row${count === 1 ? '' : 's'} with a weight from ${formatValue(edges[i]!)} to ${formatValue(edges[i + 1]!)}`,
  })).reverse();
  return h('figure', { class: 'weight-histogram' },
    h('figcaption', {}, h('strong', {}, 'Weights'), h('span', { class: 'muted' }, ` rows per weight bin, ${counts.length} equal-width bins`)),
    barChart(bars, 'Rows per DSIR weight bin'));
}

function rowTable(id: string, heading: string, rows: CsvWeightedRow[], descending: boolean, actions: DatasetActions): HTMLElement {
  const columns: Column<CsvWeightedRow>[] = [
    { label: 'Line', numeric: true, title: '1-based line of the row in the CSV', sortValue: (r) => r.line, cell: (r) => String(r.line) },
    { label: 'Weight', numeric: true, title: 'DSIR log importance weight', sortValue: (r) => r.weight, cell: (r) => formatValue(r.weight) },
    { label: 'Text', sortValue: (r) => r.text, cell: (r) => r.text, cellClass: 'row-text' },
  ];
  return sortableTable({
    id, heading, rows, columns,
    filterText: (r) => `${r.line} ${r.text}`,
    filterPlaceholder: 'Filter by text or line',
    sort: { column: 1, descending },
    className: 'weighted-rows',
    noun: 'rows',
    ...(actions.revealLine ? { onRowClick: (r: CsvWeightedRow) => actions.revealLine!(r.line) } : {}),
  });
}

interface ColumnRow {
  profile: CsvColumnProfile;
  importance: CsvColumnImportance | undefined;
  note: string;
}

function columnTable(profile: CsvInspectResult, result: CsvColumnsResult | null): HTMLElement {
  const scored = new Map(result?.columns.map((c) => [c.name, c]) ?? []);
  const skipped = new Map(result?.skipped.map((s) => [s.name, s.reason]) ?? []);
  const rows: ColumnRow[] = profile.columns.map((c) => ({
    profile: c,
    importance: scored.get(c.name),
    note: result?.target === c.name ? 'target' : skipped.has(c.name) ? 'not scored' : '',
  }));
  const share = (c: CsvColumnProfile) => (profile.rows > 0 ? c.missing / profile.rows : 0);
  const columns: Column<ColumnRow>[] = [
    { label: 'Column', sortValue: (r) => r.profile.name, cell: (r) => r.note ? h('span', {}, r.profile.name, ' ', h('span', { class: 'module', title: skipped.get(r.profile.name) }, r.note)) : r.profile.name },
    { label: 'Type', sortValue: (r) => r.profile.type, cell: (r) => r.profile.type },
    { label: 'Missing', numeric: true, title: 'Empty cells, missing markers (NA, null, …) and cells not of the column’s type', sortValue: (r) => share(r.profile), cell: (r) => `${formatCount(r.profile.missing)} (${formatPercent(share(r.profile))})` },
    { label: 'Distinct', numeric: true, title: '“many”: more than the reader tracks', sortValue: (r) => r.profile.distinct, cell: (r) => (r.profile.distinct === null ? 'many' : String(r.profile.distinct)) },
    { label: 'Min', numeric: true, sortValue: (r) => r.profile.min, cell: (r) => formatValue(r.profile.min) },
    { label: 'Max', numeric: true, sortValue: (r) => r.profile.max, cell: (r) => formatValue(r.profile.max) },
    { label: 'Mean', numeric: true, sortValue: (r) => r.profile.mean, cell: (r) => formatValue(r.profile.mean) },
  ];
  if (result) {
    columns.push(
      { label: 'Rank', numeric: true, title: 'Importance rank (1 = most important)', sortValue: (r) => r.importance?.rank ?? null, cell: (r) => (r.importance ? String(r.importance.rank) : '—') },
      { label: 'MI (nats)', numeric: true, title: 'Mutual information with the target', sortValue: (r) => r.importance?.mutualInformation ?? null, cell: (r) => formatValue(r.importance?.mutualInformation ?? null) },
      { label: 'Permutation', numeric: true, title: 'Drop in the model’s score when shuffled: mean ± sd over repeats', sortValue: (r) => r.importance?.permutation?.mean ?? null, cell: (r) => (r.importance?.permutation ? `${formatValue(r.importance.permutation.mean)} ± ${formatValue(r.importance.permutation.sd)}` : '—') },
    );
  }
  return sortableTable({
    id: 'dataset-columns',
    heading: 'Columns',
    rows,
    columns,
    filterText: (r) => `${r.profile.name} ${r.profile.type} ${r.note}`,
    filterPlaceholder: 'Filter by name or type',
    ...(result ? { sort: { column: 7, descending: false } } : {}),
    className: 'dataset-columns',
    noun: 'columns',
  });
}
