// RFC 4180 tokenizer over raw bytes. It hands out byte ranges instead of strings so that numeric columns are parsed
// straight from the buffer (csv-parse, measured at 12–29 MB/s on numeric data, could not keep up with pandas'
// C reader; this loop runs at several hundred MB/s). Quoted fields may hold delimiters, newlines and doubled
// quotes; records end at LF or CRLF, or at a lone CR in a file whose lines end that way (classic Mac OS, some
// spreadsheet exports: `newline` = CR). A quote inside an unquoted field is kept as a literal (as pandas does).
import { InputError } from '../../errors';

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** Records of one chunk, as flat arrays: record r has fields [firstField[r], firstField[r + 1]). */
export interface CsvBatch {
  buf: Buffer;
  count: number;
  /** 1-based line on which each record starts. */
  lines: Int32Array;
  firstField: Int32Array;
  /** Byte range of each record in `buf`, its line terminator included (for copying rows verbatim). */
  recordStart: Int32Array;
  recordEnd: Int32Array;
  fieldStart: Int32Array;
  fieldEnd: Int32Array;
  /** 0 plain, 1 quoted, 2 quoted with doubled quotes to undo. */
  fieldQuote: Uint8Array;
}

export interface ScanOutcome {
  batch: CsvBatch;
  /** Bytes of `buf` consumed by complete records; the rest starts an unfinished record. */
  consumed: number;
  /** The line number after the consumed bytes. */
  nextLine: number;
}

/** Growable arrays reused across chunks, so a scan allocates only when a chunk holds more records than before. */
export class ScanArrays {
  lines = new Int32Array(1024);
  firstField = new Int32Array(1025);
  recordStart = new Int32Array(1024);
  recordEnd = new Int32Array(1024);
  fieldStart = new Int32Array(8192);
  fieldEnd = new Int32Array(8192);
  fieldQuote = new Uint8Array(8192);

  growRecords(): void {
    const grow = <T extends Int32Array>(a: T): T => { const b = new Int32Array(a.length * 2) as T; b.set(a); return b; };
    this.lines = grow(this.lines);
    this.firstField = grow(this.firstField);
    this.recordStart = grow(this.recordStart);
    this.recordEnd = grow(this.recordEnd);
  }

  growFields(): void {
    const s = new Int32Array(this.fieldStart.length * 2); s.set(this.fieldStart); this.fieldStart = s;
    const e = new Int32Array(this.fieldEnd.length * 2); e.set(this.fieldEnd); this.fieldEnd = e;
    const q = new Uint8Array(this.fieldQuote.length * 2); q.set(this.fieldQuote); this.fieldQuote = q;
  }
}

/**
 * Scans complete records of `buf` starting at line `line`. Unless `final`, a record counts as complete only once
 * its newline is seen, so a chunk boundary never splits a field. At the end of the input (`final`) an open quote is an
 * error naming the line where the quoted field began. Empty lines are skipped (they still count as lines).
 */
export function scanRecords(buf: Buffer, delimiter: number, line: number, final: boolean, arrays: ScanArrays, newline: number = LF): ScanOutcome {
  const crlf = newline === LF; // a CR before the LF belongs to the line ending
  const n = buf.length;
  let records = 0;
  let fields = 0;
  let pos = 0;
  let consumed = 0;
  let consumedLine = line;
  let committedFields = 0;
  while (pos < n) {
    // One record.
    const recordStart = pos;
    const recordLine = line;
    const recordFirstField = fields;
    let complete = false;
    for (;;) {
      if (fields + 1 >= arrays.fieldStart.length) arrays.growFields();
      if (pos < n && buf[pos] === QUOTE) {
        const quoteLine = line;
        let i = pos + 1;
        let escaped = false;
        let closed = -1;
        for (;;) {
          const q = buf.indexOf(QUOTE, i);
          if (q < 0) break;
          if (q + 1 < n && buf[q + 1] === QUOTE) { escaped = true; i = q + 2; continue; }
          if (q + 1 >= n && !final) break; // the next chunk might start with the second quote of a pair
          closed = q;
          break;
        }
        if (closed < 0) {
          if (final) throw new InputError(`line ${quoteLine}: quoted field is never closed (it opens on line ${quoteLine} and runs to the end of the file)`);
          return finish(arrays, buf, records, consumed, consumedLine, committedFields);
        }
        for (let k = pos + 1; k < closed; k++) if (buf[k] === newline) line++;
        arrays.fieldStart[fields] = pos + 1;
        arrays.fieldEnd[fields] = closed;
        arrays.fieldQuote[fields] = escaped ? 2 : 1;
        fields++;
        pos = closed + 1;
        const after = pos < n ? buf[pos] : -1;
        if (after === delimiter) { pos++; continue; }
        if (after === newline) { pos++; line++; complete = true; break; }
        if (crlf && after === CR && pos + 1 < n && buf[pos + 1] === LF) { pos += 2; line++; complete = true; break; }
        if (after === -1 || (crlf && after === CR && pos + 1 >= n)) {
          if (final) { pos = n; complete = true; break; }
          return finish(arrays, buf, records, consumed, consumedLine, committedFields);
        }
        throw new InputError(`line ${line}: unexpected character ${JSON.stringify(String.fromCharCode(after))} after the closing quote of a quoted field`);
      }
      const start = pos;
      while (pos < n) {
        const c = buf[pos]!;
        if (c === delimiter || c === newline) break;
        pos++;
      }
      let end = pos;
      if (crlf && pos < n && buf[pos] === LF && end > start && buf[end - 1] === CR) end--;
      else if (crlf && pos >= n && final && end > start && buf[end - 1] === CR) end--;
      arrays.fieldStart[fields] = start;
      arrays.fieldEnd[fields] = end;
      arrays.fieldQuote[fields] = 0;
      fields++;
      if (pos < n && buf[pos] === delimiter) { pos++; if (pos < n || final) continue; }
      if (pos < n) { pos++; line++; complete = true; break; } // the newline
      if (final) { complete = true; break; }
      return finish(arrays, buf, records, consumed, consumedLine, committedFields);
    }
    if (!complete) break;
    // An empty line is one empty unquoted field: skip it.
    if (fields - recordFirstField === 1 && arrays.fieldQuote[recordFirstField] === 0 && arrays.fieldStart[recordFirstField] === arrays.fieldEnd[recordFirstField]) {
      fields = recordFirstField;
    } else {
      if (records + 1 >= arrays.lines.length) arrays.growRecords();
      arrays.lines[records] = recordLine;
      arrays.firstField[records] = recordFirstField;
      arrays.recordStart[records] = recordStart;
      arrays.recordEnd[records] = pos;
      records++;
    }
    consumed = pos;
    consumedLine = line;
    committedFields = fields;
  }
  return finish(arrays, buf, records, consumed, consumedLine, committedFields);
}

function finish(arrays: ScanArrays, buf: Buffer, records: number, consumed: number, nextLine: number, fields: number): ScanOutcome {
  // Fields of an unfinished record are dropped: the record is scanned again with the next chunk.
  arrays.firstField[records] = fields;
  return {
    batch: {
      buf, count: records, lines: arrays.lines, firstField: arrays.firstField, recordStart: arrays.recordStart, recordEnd: arrays.recordEnd,
      fieldStart: arrays.fieldStart, fieldEnd: arrays.fieldEnd, fieldQuote: arrays.fieldQuote,
    },
    consumed,
    nextLine,
  };
}

/** The text of field `f` (quotes removed, doubled quotes undone). */
export function fieldText(batch: CsvBatch, f: number): string {
  const s = batch.buf.toString('utf8', batch.fieldStart[f], batch.fieldEnd[f]);
  return batch.fieldQuote[f] === 2 ? s.replaceAll('""', '"') : s;
}
