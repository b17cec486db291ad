// "Analyze CSV Importance": profile the file in the analysis process, ask what to analyse — a target column (column
// importance, with an optional ONNX model) or a text column and a target sample (DSIR row importance, optionally
// resampled into a new CSV next to the source) — run it under a cancellable notification, and show the result in
// the file's Dataset panel.
import { existsSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import * as vscode from 'vscode';
import { CancelledError, errorMessage, InputError } from '../../errors';
import type { CsvColumnProfile, CsvColumnsResult, CsvInspectResult, CsvRequest, CsvRowsResult } from '../../protocol/csv';
import { formatPercent } from '../../protocol/units';
import { datasetViewOf } from '../../analyses/csv/view';
import { runAnalysis } from '../shared/analysisService';
import { showDatasetPanel } from './csvSession';
import { fileStamp, lookup, rememberImportance, rememberProfile } from './csvStore';
import { log } from '../shared/log';
import { withCancellableProgress } from '../shared/progress';
import { csvModelFile, runSettings, showSettingError } from '../shared/settings';

type Choice = { kind: 'columns'; target: string } | { kind: 'rows'; textColumn: string | undefined };

export async function analyzeCsv(extensionUri: vscode.Uri, target: vscode.Uri | undefined): Promise<CsvColumnsResult | CsvRowsResult | undefined> {
  const uri = target ?? (await pickCsv());
  if (!uri) return undefined;
  const name = basename(uri.fsPath);
  if (uri.scheme !== 'file') {
    void vscode.window.showErrorMessage(`Importance Lens: only CSV files on this machine can be analysed (got a ${uri.scheme}: URI).`);
    return undefined;
  }
  try {
    // A profile of the file as it is now (from an earlier run or a hover) is not read again.
    const known = await lookup(uri);
    const stamp = known?.stamp ?? (await fileStamp(uri.fsPath));
    if (!stamp) throw new InputError(`cannot read ${uri.fsPath}`);
    const profile = known?.profile ?? (await run(`Reading ${name}`, { analysis: 'csv', mode: 'inspect', path: uri.fsPath }) as CsvInspectResult);
    if (!known) rememberProfile(uri, stamp, profile);
    const choice = await pickTarget(profile, name);
    if (!choice) return undefined;
    const request = choice.kind === 'columns' ? await columnsRequest(uri, choice.target) : await rowsRequest(uri, profile, choice.textColumn);
    if (!request) return undefined;
    const title = request.mode === 'columns' ? `Column importance of ${name} vs ${request.target}` : `Row importance (DSIR) of ${name}`;
    const result = await run(title, request) as CsvColumnsResult | CsvRowsResult;
    if (result.kind === 'columns') rememberImportance(uri, stamp, result);
    showDatasetPanel(extensionUri, uri, datasetViewOf(profile, result));
    if (result.kind === 'rows') offerResample(result);
    return result;
  } catch (error) {
    if (error instanceof CancelledError) return undefined;
    if (!(error instanceof InputError)) log.error(`CSV importance of ${uri.fsPath}: ${errorMessage(error)}`);
    void vscode.window.showErrorMessage(`Importance Lens: ${errorMessage(error)}`);
    return undefined;
  }
}

async function run(title: string, request: CsvRequest) {
  const outcome = await withCancellableProgress(title, (signal, onProgress) => runAnalysis(request, { signal, onProgress }));
  return outcome.result;
}

async function pickCsv(): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title: 'Analyze CSV Importance', canSelectFiles: true, canSelectFolders: false, canSelectMany: false,
    filters: { 'CSV files': ['csv', 'tsv'], 'All files': ['*'] },
  });
  return picked?.[0];
}

interface ChoiceItem extends vscode.QuickPickItem {
  choice: Choice;
}

/** "number · 12.5% missing · 35 distinct": what the QuickPick says of a column. */
function describeColumn(column: CsvColumnProfile, rows: number): string {
  const parts = [column.type, `${formatPercent(rows > 0 ? column.missing / rows : 0)} missing`];
  if (column.distinct !== null) parts.push(`${column.distinct} distinct`);
  return parts.join(' · ');
}

/** The target column, from the header: number and category columns are targets; a text column leads to row importance. */
async function pickTarget(profile: CsvInspectResult, name: string): Promise<Choice | undefined> {
  const items: (ChoiceItem | vscode.QuickPickItem)[] = [];
  for (const column of profile.columns) {
    if (column.type === 'date') continue; // neither a target nor a text for DSIR
    const text = column.type === 'text';
    items.push({
      label: text ? `$(whole-word) ${column.name}` : column.name,
      description: describeColumn(column, profile.rows) + (text ? ' · row importance (DSIR)' : ''),
      choice: text ? { kind: 'rows', textColumn: column.name } : { kind: 'columns', target: column.name },
    });
  }
  items.push({ label: '', kind: vscode.QuickPickItemKind.Separator });
  const texts = profile.columns.filter((c) => c.type === 'text').length;
  items.push({
    label: '$(list-ordered) Row importance (DSIR) for a text column…',
    description: texts > 0 ? `${texts} text column${texts === 1 ? '' : 's'}` : undefined,
    detail: 'Weight every row by how much its text looks like a target sample; optionally resample rows into a new CSV',
    choice: { kind: 'rows', textColumn: undefined },
  });
  const picked = await vscode.window.showQuickPick(items, {
    title: `Analyze CSV Importance: ${name} (${profile.rows} rows)`,
    placeHolder: 'Pick the target column: which columns tell it? (classification or regression is inferred)',
    matchOnDescription: true,
  });
  return picked && 'choice' in picked ? (picked as ChoiceItem).choice : undefined;
}

async function columnsRequest(uri: vscode.Uri, target: string): Promise<Extract<CsvRequest, { mode: 'columns' }> | undefined> {
  const model = await pickModel();
  if (model === undefined) return undefined;
  const { providers } = runSettings();
  return { analysis: 'csv', mode: 'columns', path: uri.fsPath, target, providers, ...(model ? { model } : {}) };
}

/** The ONNX model for permutation importance: importanceLens.csvModel, or asked for. null: the built-in forest. */
async function pickModel(): Promise<string | null | undefined> {
  const setting = csvModelFile();
  if (setting.kind === 'file') return setting.path;
  if (setting.kind === 'missing') {
    void showSettingError(`The ONNX model "${setting.setting}" set in importanceLens.csvModel is not a file.`, 'importanceLens.csvModel');
    return undefined;
  }
  const items: (vscode.QuickPickItem & { pick: boolean })[] = [
    { label: '$(symbol-misc) No model', description: 'built-in random forest', detail: 'Permutation importance of a random forest fitted on a sample of the rows (cross-fitted)', pick: false },
    { label: '$(file) Pick an ONNX model file…', description: 'e.g. a scikit-learn model exported to ONNX', detail: 'Inputs named after the columns, or one [N, F] input fed the columns in file order (importanceLens.csvModel keeps one)', pick: true },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'Analyze CSV Importance: model for permutation importance', placeHolder: 'Which model to shuffle the columns through' });
  if (!picked) return undefined;
  if (!picked.pick) return null;
  const file = await vscode.window.showOpenDialog({ title: 'Pick the ONNX model', canSelectFiles: true, canSelectMany: false, filters: { 'ONNX model': ['onnx'] } });
  return file?.[0]?.fsPath;
}

async function rowsRequest(uri: vscode.Uri, profile: CsvInspectResult, textColumn: string | undefined): Promise<Extract<CsvRequest, { mode: 'rows' }> | undefined> {
  const column = textColumn ?? (await pickTextColumn(profile));
  if (!column) return undefined;
  const sample = await vscode.window.showOpenDialog({
    title: `Pick the target sample for '${column}' (a text file, one example per line, or a CSV with a '${column}' column)`,
    defaultUri: vscode.Uri.file(dirname(uri.fsPath)),
    canSelectFiles: true, canSelectFolders: false, canSelectMany: false,
  });
  const targetFile = sample?.[0];
  if (!targetFile) return undefined;
  const k = await askResampleCount(profile.rows);
  if (k === undefined) return undefined;
  const out = k === null ? undefined : freshOutputPath(uri.fsPath, k);
  return { analysis: 'csv', mode: 'rows', path: uri.fsPath, textColumn: column, targetFile: targetFile.fsPath, ...(out ? { out, k: k! } : {}) };
}

async function pickTextColumn(profile: CsvInspectResult): Promise<string | undefined> {
  // Text columns first; category columns can be weighed too (short labels), numbers cannot.
  const columns = profile.columns.filter((c) => c.type === 'text' || c.type === 'category').sort((a, b) => Number(b.type === 'text') - Number(a.type === 'text'));
  if (columns.length === 0) {
    void vscode.window.showWarningMessage('Importance Lens: this CSV has no text column to weigh rows by.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(columns.map((c) => ({ label: c.name, description: describeColumn(c, profile.rows) })), {
    title: 'Row importance (DSIR): the text column', placeHolder: 'Whose text is compared with the target sample',
  });
  return picked?.label;
}

/** null: weights only, no resample; undefined: cancelled. */
async function askResampleCount(rows: number): Promise<number | null | undefined> {
  const answer = await vscode.window.showInputBox({
    title: 'Row importance (DSIR): resample rows into a new CSV?',
    prompt: `How many rows to draw (∝ exp(weight), without replacement) into a new CSV next to this one; leave empty for the weights only. The file has ${rows} rows.`,
    value: '',
    placeHolder: `e.g. ${Math.max(1, Math.round(rows / 10))}`,
    validateInput: (value) => {
      if (value.trim() === '') return undefined;
      const k = Number(value);
      return Number.isSafeInteger(k) && k >= 1 && k <= rows ? undefined : `A whole number from 1 to ${rows}, or empty`;
    },
  });
  if (answer === undefined) return undefined;
  return answer.trim() === '' ? null : Number(answer);
}

/** data.csv → data.dsir-500.csv, or data.dsir-500-2.csv, … : always a file that does not exist yet. */
function freshOutputPath(source: string, k: number): string {
  const ext = extname(source) || '.csv';
  const stem = join(dirname(source), `${basename(source, extname(source))}.dsir-${k}`);
  let candidate = `${stem}${ext}`;
  for (let n = 2; existsSync(candidate); n++) candidate = `${stem}-${n}${ext}`;
  return candidate;
}

function offerResample(result: CsvRowsResult): void {
  const resampled = result.resampled;
  if (!resampled) return;
  void vscode.window.showInformationMessage(`Importance Lens: wrote ${resampled.k} resampled rows to ${basename(resampled.out)}`, 'Open').then((choice) => {
    if (choice) void vscode.window.showTextDocument(vscode.Uri.file(resampled.out));
  });
}
