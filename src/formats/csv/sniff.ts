// The dialect of a CSV from its first bytes: the line ending (LF/CRLF, or a lone CR), the delimiter (, ; tab |, or a
// space when none of those splits the records) and whether the first record is a header.
import { ScanArrays, scanRecords, type CsvBatch } from './scanner';
import { isMissing, parseNumber } from './values';

export const DELIMITERS = [0x2c, 0x3b, 0x09, 0x7c] as const; // , ; \t |
const SPACE = 0x20;
const LF = 0x0a;
const CR = 0x0d;
const SNIFF_RECORDS = 50;

/** LF (which covers CRLF), or CR for a file whose lines end in a lone CR: CRs in the head and no LF at all. */
export function sniffNewline(head: Buffer): number {
  return head.indexOf(LF) < 0 && head.indexOf(CR) >= 0 ? CR : LF;
}

export interface Dialect {
  delimiter: number;
  header: boolean;
}

/**
 * Picks the delimiter that splits the first records into the same number (> 1) of fields most often, ties going to
 * more fields and then to the order above. A space is taken only when none of those splits anything and it splits
 * every sniffed record, the first included, alike (words in a one-column file of text do not). `head` is the start
 * of the file (BOM removed); `final` when it is all.
 */
export function sniffDelimiter(head: Buffer, final: boolean, newline = LF): number {
  let best: { delimiter: number; agreeing: number; fields: number } | undefined;
  for (const delimiter of DELIMITERS) {
    const counts = fieldCounts(head, delimiter, final, newline);
    for (const [fields, agreeing] of counts ?? []) {
      if (fields < 2) continue;
      if (!best || agreeing > best.agreeing || (agreeing === best.agreeing && fields > best.fields)) best = { delimiter, agreeing, fields };
    }
  }
  if (best) return best.delimiter;
  const spaced = fieldCounts(head, SPACE, final, newline);
  if (spaced?.size === 1 && [...spaced.keys()][0]! >= 2 && [...spaced.values()][0]! >= 2) return SPACE;
  return 0x2c;
}

/** How many of the first records have each field count under `delimiter`; undefined when the quoting breaks. */
function fieldCounts(head: Buffer, delimiter: number, final: boolean, newline: number): Map<number, number> | undefined {
  let outcome;
  try {
    outcome = scanRecords(head, delimiter, 1, final, new ScanArrays(), newline);
  } catch {
    return undefined; // a quote problem under this delimiter: not the dialect
  }
  const { batch } = outcome;
  const counts = new Map<number, number>();
  for (let r = 0; r < Math.min(batch.count, SNIFF_RECORDS); r++) {
    const fields = batch.firstField[r + 1]! - batch.firstField[r]!;
    counts.set(fields, (counts.get(fields) ?? 0) + 1);
  }
  return counts;
}

/**
 * Whether the first record names the columns (the heuristic of Python's csv.Sniffer, simplified): some column whose
 * later values are mostly numbers has a non-number in the first record. Without such evidence a first record that
 * holds a number is data; one made only of text is a header.
 */
export function sniffHeader(batch: CsvBatch): boolean {
  if (batch.count === 0) return true;
  const width = batch.firstField[1]! - batch.firstField[0]!;
  const records = Math.min(batch.count, SNIFF_RECORDS);
  let firstHasNumber = false;
  for (let c = 0; c < width; c++) {
    const f = batch.firstField[0]! + c;
    const firstIsNumber = !Number.isNaN(parseNumber(batch.buf, batch.fieldStart[f]!, batch.fieldEnd[f]!));
    firstHasNumber ||= firstIsNumber;
    let numbers = 0;
    let present = 0;
    for (let r = 1; r < records; r++) {
      if (batch.firstField[r + 1]! - batch.firstField[r]! !== width) continue;
      const g = batch.firstField[r]! + c;
      if (isMissing(batch.buf, batch.fieldStart[g]!, batch.fieldEnd[g]!)) continue;
      present++;
      if (!Number.isNaN(parseNumber(batch.buf, batch.fieldStart[g]!, batch.fieldEnd[g]!))) numbers++;
    }
    if (!firstIsNumber && present > 0 && numbers >= 0.8 * present) return true;
  }
  return !firstHasNumber;
}
