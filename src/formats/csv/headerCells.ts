// Where each cell of a CSV's first record lies in its text, for the editor's header hover. The record is read with
// the reader's own dialect sniffing and tokenizer over the same first bytes, so quoting, doubled quotes, quoted
// newlines and the delimiter are taken exactly as the analyses take them.
import { SNIFF_BYTES } from './reader';
import { ScanArrays, scanRecords } from './scanner';
import { sniffDelimiter, sniffHeader, sniffNewline } from './sniff';

export interface HeaderCell {
  /** 0-based column index. */
  column: number;
  /** UTF-16 offsets into the text (as an editor counts), the cell's quotes included. */
  start: number;
  end: number;
}

export interface HeaderCells {
  delimiter: string;
  /** Whether the first record names the columns (the reader's sniff); without one there is no header to hover. */
  header: boolean;
  cells: HeaderCell[];
}

/** The first record's cells of a CSV whose text starts with `text` (the whole file, or at least its first 64 KiB). */
export function headerCells(text: string): HeaderCells | undefined {
  const bom = text.startsWith('\ufeff') ? 1 : 0;
  const encoded = Buffer.from(text.slice(bom, bom + SNIFF_BYTES), 'utf8');
  const final = text.length - bom <= SNIFF_BYTES && encoded.length <= SNIFF_BYTES;
  const head = encoded.subarray(0, SNIFF_BYTES);
  const newline = sniffNewline(head);
  const delimiter = sniffDelimiter(head, final, newline);
  let batch;
  try {
    batch = scanRecords(head, delimiter, 1, final, new ScanArrays(), newline).batch;
  } catch {
    return undefined; // a quote never closed: no record to point into
  }
  if (batch.count === 0) return undefined;
  const cells: HeaderCell[] = [];
  // Byte offsets to UTF-16 offsets, decoding only the bytes between consecutive cell edges.
  let byte = 0;
  let unit = bom;
  const toUnits = (target: number) => {
    unit += head.toString('utf8', byte, target).length;
    byte = target;
    return unit;
  };
  for (let f = batch.firstField[0]!; f < batch.firstField[1]!; f++) {
    const quoted = batch.fieldQuote[f] !== 0 ? 1 : 0;
    const start = toUnits(batch.fieldStart[f]! - quoted);
    const end = toUnits(batch.fieldEnd[f]! + quoted);
    cells.push({ column: cells.length, start, end });
  }
  return { delimiter: String.fromCharCode(delimiter), header: sniffHeader(batch), cells };
}

/** The cell under `offset` (a UTF-16 offset into the same text); none on a delimiter or past the record. */
export function cellAt(cells: readonly HeaderCell[], offset: number): HeaderCell | undefined {
  return cells.find((cell) => cell.start <= offset && offset < cell.end);
}
