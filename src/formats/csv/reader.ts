// Streaming CSV reader: the file is read in bounded chunks, never whole; each chunk's complete records are handed
// out as a batch of byte ranges (scanner.ts). The bytes are checked to be UTF-8 without NULs, every record must have
// the header's width, and a record may not outgrow MAX_RECORD_BYTES (a 100 MB field or an unclosed quote fails
// there, with the line it started on, instead of filling memory).
import { isUtf8 } from 'node:buffer';
import { InputError, throwIfAborted } from '../../errors';
import { openForReading } from '../fileio';
import { ScanArrays, scanRecords, fieldText, type CsvBatch } from './scanner';
import { sniffDelimiter, sniffHeader, sniffNewline } from './sniff';

export const CHUNK_BYTES = 2 * 1024 * 1024;
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
export const MAX_COLUMNS = 100_000;
export const SNIFF_BYTES = 64 * 1024;

export interface CsvLayout {
  path: string;
  size: number;
  delimiter: string;
  /** "\n" (LF or CRLF) or "\r" (lines ending in a lone CR). */
  newline: string;
  header: boolean;
  /** Column names: the header's (made unique), or column1..N without a header. */
  columns: string[];
  warnings: string[];
}

/** A batch and the index of its first data record (1 in the first batch when that record is the header). */
export interface DataBatch {
  batch: CsvBatch;
  from: number;
}

export async function openCsv(path: string): Promise<CsvLayout> {
  const { handle, size } = await openForReading(path);
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(Math.min(size, SNIFF_BYTES));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const final = head.length >= size;
  const body = checkEncodingStart(head, path);
  const newline = sniffNewline(body);
  const delimiter = sniffDelimiter(body, final, newline);
  const outcome = scanRecords(body, delimiter, 1, final, new ScanArrays(), newline);
  const { batch } = outcome;
  const dialect = { delimiter: String.fromCharCode(delimiter), newline: String.fromCharCode(newline) };
  if (batch.count === 0) {
    if (final) return { path, size, ...dialect, header: false, columns: [], warnings: ['the file holds no records'] };
    throw new InputError(`${path}: line 1: the first record is longer than ${SNIFF_BYTES} bytes; is this a CSV file?`);
  }
  const header = sniffHeader(batch);
  const width = batch.firstField[1]! - batch.firstField[0]!;
  if (width > MAX_COLUMNS) throw new InputError(`${path}: line 1 has ${width} fields; more than ${MAX_COLUMNS} columns are refused`);
  const warnings: string[] = [];
  const columns = header ? uniqueNames(Array.from({ length: width }, (_, c) => fieldText(batch, c).trim()), warnings) : Array.from({ length: width }, (_, c) => `column${c + 1}`);
  return { path, size, ...dialect, header, columns, warnings };
}

/** pandas' names for blank and repeated header cells ("Unnamed: 3", "x.1"), so columns can be named on the CLI. */
function uniqueNames(names: string[], warnings: string[]): string[] {
  const seen = new Set<string>();
  return names.map((raw, c) => {
    let name = raw === '' ? `Unnamed: ${c}` : raw;
    if (seen.has(name)) {
      let k = 1;
      while (seen.has(`${name}.${k}`)) k++;
      warnings.push(`column ${c + 1}: header '${name}' repeats; named '${name}.${k}'`);
      name = `${name}.${k}`;
    }
    seen.add(name);
    return name;
  });
}

/** Streams the data records (the header left out), checking width, encoding and record size. */
export async function* readBatches(layout: CsvLayout, signal?: AbortSignal): AsyncGenerator<DataBatch> {
  const { path } = layout;
  const delimiter = layout.delimiter.charCodeAt(0);
  const newline = layout.newline.charCodeAt(0);
  const width = layout.columns.length;
  const { handle } = await openForReading(path);
  const arrays = new ScanArrays();
  let tail: Buffer = Buffer.alloc(0);
  let line = 1;
  let offset = 0;
  let first = true;
  let headerPending = layout.header;
  try {
    for (;;) {
      throwIfAborted(signal);
      const chunk = Buffer.allocUnsafe(tail.length + CHUNK_BYTES);
      tail.copy(chunk, 0);
      const { bytesRead } = await handle.read(chunk, tail.length, CHUNK_BYTES, offset);
      offset += bytesRead;
      const final = bytesRead === 0;
      let data: Buffer = chunk.subarray(0, tail.length + bytesRead);
      if (first) data = checkEncodingStart(data, path);
      first = false;
      const outcome = scanRecords(data, delimiter, line, final, arrays, newline);
      const { batch } = outcome;
      const checked = final ? data.length : outcome.consumed;
      checkBytes(data, checked, line, path, newline);
      let from = 0;
      if (headerPending && batch.count > 0) {
        headerPending = false;
        from = 1;
      }
      for (let r = from; r < batch.count; r++) {
        const fields = batch.firstField[r + 1]! - batch.firstField[r]!;
        if (fields !== width) throw new InputError(`${path}: line ${batch.lines[r]}: ${fields} field${fields === 1 ? '' : 's'}, but the header has ${width} (ragged row)`);
      }
      if (batch.count > from) yield { batch, from };
      if (final) return;
      line = outcome.nextLine;
      tail = Buffer.from(data.subarray(outcome.consumed));
      if (tail.length > MAX_RECORD_BYTES) {
        throw new InputError(`${path}: line ${line}: a record longer than ${MAX_RECORD_BYTES / 1024 / 1024} MiB (a huge field, or a quote that is never closed?)`);
      }
    }
  } finally {
    await handle.close();
  }
}

/** Removes a UTF-8 BOM; refuses UTF-16 (its BOM) rather than reading it as garbage. */
function checkEncodingStart(data: Buffer, path: string): Buffer {
  if (data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) return data.subarray(3);
  if (data.length >= 2 && ((data[0] === 0xff && data[1] === 0xfe) || (data[0] === 0xfe && data[1] === 0xff))) {
    throw new InputError(`${path}: line 1: UTF-16 text (byte order mark); save the file as UTF-8`);
  }
  return data;
}

function checkBytes(data: Buffer, end: number, line: number, path: string, newline: number): void {
  const nul = data.indexOf(0);
  if (nul >= 0 && nul < end) throw new InputError(`${path}: line ${line + countLines(data, nul, newline)}: NUL byte; this is binary data, not a CSV text file`);
  if (isUtf8(data.subarray(0, end))) return;
  const bad = firstInvalidUtf8(data, end);
  throw new InputError(`${path}: line ${line + countLines(data, bad, newline)}: invalid UTF-8 (byte 0x${data[bad]!.toString(16).padStart(2, '0')}); save the file as UTF-8`);
}

function countLines(data: Buffer, end: number, newline: number): number {
  let lines = 0;
  for (let i = data.indexOf(newline); i >= 0 && i < end; i = data.indexOf(newline, i + 1)) lines++;
  return lines;
}

/** Offset of the first byte that breaks UTF-8 (only called once isUtf8 said there is one). */
export function firstInvalidUtf8(data: Buffer, end: number): number {
  let i = 0;
  while (i < end) {
    const b = data[i]!;
    const need = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0) return i;
    if (need > 0 && !isUtf8(data.subarray(i, i + need + 1))) return i;
    i += need + 1;
  }
  return Math.min(i, end - 1);
}
