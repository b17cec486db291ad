// What the editor knows about each CSV file, by URI: its profile (types, missing, ranges) and the latest column
// importance. "Analyze CSV Importance" writes it; the header hover reads it. Every entry carries the size and
// modification time the file had when it was read, and is dropped once the file on disk differs.
import { stat } from 'node:fs/promises';
import type * as vscode from 'vscode';
import type { CsvColumnsResult, CsvInspectResult } from '../../protocol/csv';

export interface FileStamp {
  size: number;
  mtimeMs: number;
}

export interface CsvKnowledge {
  stamp: FileStamp;
  profile: CsvInspectResult;
  importance: CsvColumnsResult | undefined;
}

const known = new Map<string, CsvKnowledge>();

export async function fileStamp(path: string): Promise<FileStamp | undefined> {
  try {
    const { size, mtimeMs } = await stat(path);
    return { size, mtimeMs };
  } catch {
    return undefined;
  }
}

const same = (a: FileStamp, b: FileStamp) => a.size === b.size && a.mtimeMs === b.mtimeMs;

/** Keeps a profile read from the file as it was at `stamp`; an importance from an older version is dropped. */
export function rememberProfile(uri: vscode.Uri, stamp: FileStamp, profile: CsvInspectResult): void {
  const previous = known.get(uri.toString());
  known.set(uri.toString(), { stamp, profile, importance: previous && same(previous.stamp, stamp) ? previous.importance : undefined });
}

/** Keeps a column importance computed on the file as it was at `stamp` (only beside a profile of that version). */
export function rememberImportance(uri: vscode.Uri, stamp: FileStamp, importance: CsvColumnsResult): void {
  const entry = known.get(uri.toString());
  if (entry && same(entry.stamp, stamp)) entry.importance = importance;
}

/** What is known about the file as it is on disk now. */
export async function lookup(uri: vscode.Uri): Promise<CsvKnowledge | undefined> {
  const entry = known.get(uri.toString());
  if (!entry) return undefined;
  const now = await fileStamp(uri.fsPath);
  if (now && same(now, entry.stamp)) return entry;
  known.delete(uri.toString());
  return undefined;
}
