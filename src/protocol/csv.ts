// Result documents of the CSV analyses (docs/cli.md: `inspect` on a CSV, `csv --target`, `csv --text-column`).
// Types only: the webview bundle may import this file.

export type CsvColumnType = 'number' | 'category' | 'text' | 'date';

export interface CsvInspectResult {
  format: 'csv';
  path: string;
  bytes: number;
  /** Data records (the header not counted). */
  rows: number;
  delimiter: string;
  header: boolean;
  columns: CsvColumnProfile[];
  warnings: string[];
}

export interface CsvColumnProfile {
  name: string;
  type: CsvColumnType;
  /** Empty cells, missing markers (NA, null, …) and cells not of the column's type. */
  missing: number;
  /** Distinct values; null past what is tracked (64 numbers, 1 000 texts). */
  distinct: number | null;
  /** Over the number cells of a number column; null in other columns. */
  min: number | null;
  max: number | null;
  mean: number | null;
}

export interface CsvColumnImportance {
  name: string;
  type: CsvColumnType;
  /** The score ranked on: the permutation mean with a user's model, otherwise the mutual information. */
  importance: number;
  method: 'mutual-information' | 'permutation';
  /** 1 = most important. */
  rank: number;
  /** Discretised mutual information with the target in nats, Miller–Madow bias-corrected, over all rows. */
  mutualInformation: number;
  /** Drop in the model's score (accuracy or R²) on held-out rows when this column is shuffled: mean ± sd over repeats. */
  permutation: { mean: number; sd: number } | null;
  missing: number;
}

export interface CsvColumnsResult {
  kind: 'columns';
  path: string;
  target: string;
  task: 'classification' | 'regression';
  /** Data rows read (rows with a missing target included). */
  rows: number;
  columns: CsvColumnImportance[];
  /** Columns left out (text, constant, the target), with the reason. */
  skipped: { name: string; reason: string }[];
  model: {
    kind: 'onnx' | 'random-forest';
    path: string | null;
    /** Accuracy (classification) or R² (regression) on the held-out rows, before any shuffling. */
    score: number;
    metric: 'accuracy' | 'r2';
    trainRows: number;
    testRows: number;
    repeats: number;
  } | null;
  /** Spearman rank correlation between mutual information and permutation importance. */
  agreement: number | null;
  /** Where the model ran (onnxruntime execution provider), or 'cpu' for the built-in model. */
  device: string;
  warnings: string[];
}

export interface CsvRowsResult {
  kind: 'rows';
  path: string;
  textColumn: string;
  targetFile: string;
  /** One per data row, in file order: DSIR log importance weight log p_target(x) − log p_raw(x). */
  rows: { line: number; weight: number }[];
  /** The rows with the highest and the lowest weights (at most EXTREME_ROWS each, best first / worst first), with
   * their text cut to a preview, so a view can list them without reading the file again. */
  highest: CsvWeightedRow[];
  lowest: CsvWeightedRow[];
  /** How the weights spread: equal-width bins from the lowest to the highest weight (edges has one more entry). */
  histogram: { edges: number[]; counts: number[] };
  buckets: number;
  resampled: { out: string; k: number; lines: number[] } | null;
  warnings: string[];
}

export interface CsvWeightedRow {
  line: number;
  weight: number;
  /** The row's text in the text column, cut to a preview. */
  text: string;
}

/** The CSV analysis requests (members of worker.ts's AnalysisRequest union). */
export type CsvRequest =
  | { analysis: 'csv'; mode: 'inspect'; path: string }
  | { analysis: 'csv'; mode: 'columns'; path: string; target: string; model?: string; repeats?: number; seed?: number; providers?: string[] }
  | { analysis: 'csv'; mode: 'rows'; path: string; textColumn: string; targetFile: string; out?: string; k?: number; seed?: number };

export type CsvResult = CsvInspectResult | CsvColumnsResult | CsvRowsResult;

/** What the Dataset panel (and a CSV's HTML report) shows: the file's profile and one analysis of it, or none (a
 * report of the profile alone). Row weights are summarised (the count; the highest and lowest rows): the full list
 * of one weight per row stays with the host. */
export interface CsvDatasetView {
  profile: CsvInspectResult;
  analysis: CsvColumnsResult | CsvRowsSummary | null;
}

export type CsvRowsSummary = Omit<CsvRowsResult, 'rows'> & { count: number };
