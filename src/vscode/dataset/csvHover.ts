// Hover on a header cell of a CSV/TSV file: the column's profile (type, missing, distinct, min/max/mean) and, once
// Analyze CSV Importance has run on the file, its importance. A file not profiled yet is profiled in the analysis
// process on the first hover (small files only) and kept in the CSV store, like the command's own profile.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { columnHoverMarkdown, escapeMarkdown } from '../../analyses/csv/columnHover';
import { errorMessage } from '../../errors';
import { cellAt, headerCells } from '../../formats/csv/headerCells';
import { SNIFF_BYTES } from '../../formats/csv/reader';
import type { CsvInspectResult } from '../../protocol/csv';
import { formatBytes } from '../../protocol/units';
import { runAnalysis } from '../shared/analysisService';
import { fileStamp, lookup, rememberProfile, type CsvKnowledge } from './csvStore';

/** A hover does not start a long read: larger files get their stats from Analyze CSV Importance. */
export const HOVER_PROFILE_MAX_BYTES = 64 * 1024 * 1024;
const profiling = new Map<string, Promise<CsvKnowledge>>();

export function register(context: vscode.ExtensionContext): void {
  context.subscriptions.push(vscode.languages.registerHoverProvider({ scheme: 'file', pattern: '**/*.{csv,tsv}' }, { provideHover }));
}

async function provideHover(document: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | undefined> {
  const offset = document.offsetAt(position);
  if (offset > SNIFF_BYTES) return undefined; // past where the header can be
  // One character more than the sniffed bytes can hold tells headerCells whether it saw the whole file.
  const head = document.getText(new vscode.Range(new vscode.Position(0, 0), document.positionAt(SNIFF_BYTES + 1)));
  const layout = headerCells(head);
  const cell = layout?.header ? cellAt(layout.cells, offset) : undefined;
  if (!layout || !cell) return undefined;
  const range = new vscode.Range(document.positionAt(cell.start), document.positionAt(cell.end));
  let markdown: string;
  try {
    const known = await knowledgeOf(document.uri);
    if (!known) {
      const stamp = await fileStamp(document.uri.fsPath);
      markdown = `**${escapeMarkdown(cellName(head, cell))}** — column ${cell.column + 1} of ${layout.cells.length}\n\n_Run **Analyze CSV Importance** for its statistics (the file is ${formatBytes(stamp?.size ?? 0)}; a hover reads files up to ${formatBytes(HOVER_PROFILE_MAX_BYTES)})._`;
    } else if (known.profile.columns.length !== layout.cells.length) {
      markdown = `_The header here has ${layout.cells.length} cells but ${basename(document.uri.fsPath)} on disk has ${known.profile.columns.length} columns: save the file to see column statistics._`;
    } else {
      markdown = columnHoverMarkdown(known.profile, cell.column, known.importance);
      if (document.isDirty) markdown += '\n\n_Statistics of the file as saved._';
    }
  } catch (error) {
    markdown = `Importance Lens: cannot read ${escapeMarkdown(basename(document.uri.fsPath))}: ${escapeMarkdown(errorMessage(error))}`;
  }
  return new vscode.Hover(new vscode.MarkdownString(markdown), range);
}

/** The stored profile, or a new one for a file small enough to read on a hover (one read per file at a time). */
async function knowledgeOf(uri: vscode.Uri): Promise<CsvKnowledge | undefined> {
  const known = await lookup(uri);
  if (known) return known;
  const stamp = await fileStamp(uri.fsPath);
  if (!stamp || stamp.size > HOVER_PROFILE_MAX_BYTES) return undefined;
  const key = uri.toString();
  let running = profiling.get(key);
  if (!running) {
    running = runAnalysis({ analysis: 'csv', mode: 'inspect', path: uri.fsPath }).then(({ result }) => {
      rememberProfile(uri, stamp, result as CsvInspectResult);
      return { stamp, profile: result as CsvInspectResult, importance: undefined };
    }).finally(() => profiling.delete(key));
    profiling.set(key, running);
  }
  return running;
}

/** The cell's text without its quotes (doubled quotes undone), for a file too large to profile on a hover. */
function cellName(text: string, cell: { start: number; end: number }): string {
  const raw = text.slice(cell.start, cell.end).trim();
  return raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1).replaceAll('""', '"') : raw;
}
