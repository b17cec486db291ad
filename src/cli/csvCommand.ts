// The `csv` command (column importance vs a target, or DSIR row weights) and `inspect` of a CSV file, with their
// text renderings. The CSV analyses run in this process, like the other CLI analyses.
import { resolve } from 'node:path';
import { csvAnalysis } from '../analyses/csv';
import { datasetViewOf } from '../analyses/csv/view';
import { InputError } from '../errors';
import { detectFormat } from '../formats/detect';
import { pathKind } from '../formats/fileio';
import type { CsvColumnsResult, CsvDatasetView, CsvInspectResult, CsvRequest, CsvResult, CsvRowsResult } from '../protocol/csv';
import type { Parsed } from './args';
import { json, withTerminalProgress, type Command } from './command';
import { admitRequest } from './restricted';
import { table } from './terminalText';

async function run(request: CsvRequest): Promise<CsvResult> {
  await admitRequest(request);
  return withTerminalProgress(csvAnalysis(request));
}

const fixed = (v: number) => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(2));

async function isCsvFile(path: string): Promise<boolean> {
  return /\.(csv|tsv)$/i.test(path) && (await pathKind(path)) === 'file' && (await detectFormat(path)) === 'csv';
}

/** `inspect PATH` when PATH is a CSV file (detected by content first: a .csv that is a checkpoint stays one). */
export async function inspectCsvIfCsv(path: string, asJson: boolean): Promise<string | undefined> {
  if (!(await isCsvFile(path))) return undefined;
  const result = (await run({ analysis: 'csv', mode: 'inspect', path })) as CsvInspectResult;
  return asJson ? json(result) : `${renderCsvInspect(result)}\n`;
}

function positive(args: Parsed, name: string): number | undefined {
  const raw = args.values[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isSafeInteger(value) || value < 1) throw new InputError(`csv: --${name} must be a positive integer (got ${JSON.stringify(raw)})`);
  return value;
}

export const csvCommand: Command = {
  summary: 'csv FILE --target COL       column importance vs a target (mutual information, permutation); or --text-column C --target-file T: DSIR row weights',
  help:
    'Usage: importance-lens csv FILE --target COL [--model M.onnx] [--repeats R] [--seed S] [--json]\n' +
    '       importance-lens csv FILE --text-column C --target-file T [--out F.csv] [--k K] [--seed S] [--json]\n\n' +
    'Column importance (streamed; any file size): mutual information of each column with the target (numbers cut into\n' +
    'equal-frequency bins, categories as they are, missing as its own bin; nats, Miller–Madow bias-corrected), and\n' +
    'permutation importance (drop in accuracy or R² on held-out rows when the column is shuffled, mean ± sd over R\n' +
    'repeats, default 5) with the ONNX model M (inputs named after the columns, or one [N, F] input fed in file order;\n' +
    'runs on IMPORTANCE_LENS_PROVIDERS) or else a built-in random forest on a 10 000-row sample. importance is the\n' +
    'permutation mean with --model, the mutual information without; agreement is their Spearman rank correlation.\n\n' +
    'Row importance (DSIR): hashed unigram + bigram counts of column C vs the target sample T (a text file, or a CSV\n' +
    'with a column C); weight = log p_target − log p_raw summed over the row\'s n-grams; line is the row\'s 1-based line\n' +
    'in FILE. With --out, K rows (default 10%) are drawn ∝ exp(weight) without replacement and written to F (a new\n' +
    'file; never the input).',
  options: {
    target: { type: 'string' }, model: { type: 'string' }, repeats: { type: 'string' }, seed: { type: 'string' },
    'text-column': { type: 'string' }, 'target-file': { type: 'string' }, out: { type: 'string' }, k: { type: 'string' },
  },
  positionals: 1,
  run: async (args) => {
    const request = csvRequest(args, resolve(args.positionals[0]!));
    if (!request) throw new InputError('csv: give --target COL, or --text-column C --target-file T');
    const result = await run(request);
    if (args.values.json) return json(result);
    return `${'kind' in result && result.kind === 'rows' ? renderRows(result) : renderColumns(result as CsvColumnsResult)}\n`;
  },
};

/** The analysis the options ask for: column importance (--target), DSIR rows (--text-column, --target-file), or none. */
function csvRequest(args: Parsed, path: string): CsvRequest | undefined {
  const v = args.values;
  const seedRaw = v.seed;
  const seed = seedRaw === undefined ? undefined : Number(seedRaw);
  if (seed !== undefined && (!Number.isSafeInteger(seed) || seed < 0)) throw new InputError(`csv: --seed must be a non-negative integer (got ${JSON.stringify(seedRaw)})`);
  const rowsMode = typeof v['text-column'] === 'string' || typeof v['target-file'] === 'string';
  if (rowsMode && typeof v.target === 'string') throw new InputError('csv: give --target (column importance) or --text-column with --target-file (row importance), not both');
  if (rowsMode) {
    if (typeof v['text-column'] !== 'string' || typeof v['target-file'] !== 'string') throw new InputError('csv: row importance needs both --text-column and --target-file');
    const k = positive(args, 'k');
    if (k !== undefined && typeof v.out !== 'string') throw new InputError('csv: --k picks rows to write; give --out too');
    return {
      analysis: 'csv', mode: 'rows', path, textColumn: v['text-column'], targetFile: resolve(v['target-file']),
      ...(typeof v.out === 'string' ? { out: resolve(v.out) } : {}), ...(k ? { k } : {}), ...(seed !== undefined ? { seed } : {}),
    };
  }
  if (v.target === undefined) return undefined;
  if (typeof v.target !== 'string' || v.target === '') throw new InputError('csv: give --target COL, or --text-column C --target-file T');
  const repeats = positive(args, 'repeats');
  return {
    analysis: 'csv', mode: 'columns', path, target: v.target, ...(typeof v.model === 'string' ? { model: resolve(v.model) } : {}),
    ...(repeats ? { repeats } : {}), ...(seed !== undefined ? { seed } : {}),
  };
}

/** Options of `report` on a CSV: the analysis shown beside the profile (none: the profile alone). */
export const CSV_REPORT_OPTIONS = {
  target: { type: 'string' }, model: { type: 'string' }, repeats: { type: 'string' }, seed: { type: 'string' },
  'text-column': { type: 'string' }, 'target-file': { type: 'string' },
} as const;

/** The Dataset view of a CSV for `report`: its profile and the analysis the options ask for; undefined when PATH is
 * not a CSV file. Row weights are summarised as in the panel. */
export async function csvReportView(args: Parsed, path: string): Promise<CsvDatasetView | undefined> {
  if (!(await isCsvFile(path))) return undefined;
  // --out is the report's own file here, never a resample.
  const request = csvRequest({ ...args, values: { ...args.values, out: undefined } }, path);
  const profile = (await run({ analysis: 'csv', mode: 'inspect', path })) as CsvInspectResult;
  return datasetViewOf(profile, request ? ((await run(request)) as CsvColumnsResult | CsvRowsResult) : null);
}


export function renderCsvInspect(r: CsvInspectResult): string {
  return [
    `${r.path}: csv, ${r.rows} rows, ${r.columns.length} columns, delimiter ${JSON.stringify(r.delimiter)}, ${r.header ? 'header' : 'no header'}`,
    ...r.warnings.map((w) => `warning: ${w}`),
    '',
    table([['name', 'type', 'missing', 'distinct'], ...r.columns.map((c) => [c.name, c.type, String(c.missing), c.distinct === null ? 'many' : String(c.distinct)])]),
  ].join('\n');
}

function renderColumns(r: CsvColumnsResult): string {
  const model = r.model ? `${r.model.kind}${r.model.path ? ` ${r.model.path}` : ''}: ${r.model.metric} ${r.model.score.toFixed(4)} on ${r.model.testRows} held-out rows, ${r.model.repeats} repeats, ${r.device}` : 'no model';
  return [
    `${r.path}: target '${r.target}' (${r.task}), ${r.rows} rows; ${model}; agreement (Spearman MI vs permutation) ${r.agreement === null ? '-' : r.agreement.toFixed(3)}`,
    ...r.warnings.map((w) => `warning: ${w}`),
    ...r.skipped.map((s) => `skipped: ${s.name}: ${s.reason}`),
    '',
    table([
      ['rank', 'column', 'type', 'importance', 'method', 'MI (nats)', 'permutation'],
      ...r.columns.map((c) => [String(c.rank), c.name, c.type, fixed(c.importance), c.method, fixed(c.mutualInformation), c.permutation ? `${fixed(c.permutation.mean)} ± ${fixed(c.permutation.sd)}` : '-']),
    ]),
  ].join('\n');
}

function renderRows(r: CsvRowsResult): string {
  const top = [...r.rows].sort((a, b) => b.weight - a.weight).slice(0, 20);
  return [
    `${r.path}: DSIR weights of '${r.textColumn}' vs ${r.targetFile}, ${r.rows.length} rows (${r.buckets} hashed n-gram buckets)`,
    ...(r.resampled ? [`wrote ${r.resampled.k} resampled rows to ${r.resampled.out}`] : []),
    ...r.warnings.map((w) => `warning: ${w}`),
    '',
    'highest weights:',
    table([['line', 'weight'], ...top.map((row) => [String(row.line), row.weight.toFixed(4)])]),
  ].join('\n');
}
