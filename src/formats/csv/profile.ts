// Column type inference: number / date / category / text, and missing counts. Numbers are tried first (most cells
// of a dataset are numbers and parse without making a string); only the other cells are looked at as text.
import type { CsvBatch } from './scanner';
import { fieldText } from './scanner';
import { isMissing, parseDate, parseNumber } from './values';

export type ColumnType = 'number' | 'category' | 'text' | 'date';

/** A column is a category while it has at most this many distinct values (and they are short). */
export const MAX_CATEGORIES = 64;
const MAX_TRACKED_DISTINCT = 1000;
const MAX_CATEGORY_LENGTH = 64;
/** Share of present cells that must be numbers for a number column; the rest are reported, then treated as missing. */
const NUMBER_SHARE = 0.99;

export class ColumnProfile {
  missing = 0;
  numbers = 0;
  dates = 0;
  others = 0;
  integersOnly = true;
  readonly distinct = new Map<string, number>();
  distinctOverflow = false;
  longest = 0;
  firstNonNumberLine = 0;
  firstNonNumber = '';
  /** Distinct numeric values (up to the cap), for telling class labels from measurements. */
  readonly numberValues = new Set<number>();
  /** Of the number cells: the range and sum (for the mean shown in the panel and the header hover). */
  min = Infinity;
  max = -Infinity;
  sum = 0;

  add(batch: CsvBatch, f: number, line: number): void {
    const { buf } = batch;
    const start = batch.fieldStart[f]!;
    const end = batch.fieldEnd[f]!;
    const value = parseNumber(buf, start, end);
    if (value === value) {
      this.numbers++;
      if (value < this.min) this.min = value;
      if (value > this.max) this.max = value;
      this.sum += value;
      if (this.integersOnly && !Number.isInteger(value)) this.integersOnly = false;
      if (this.numberValues.size <= MAX_CATEGORIES) this.numberValues.add(value);
      return;
    }
    if (isMissing(buf, start, end)) {
      this.missing++;
      return;
    }
    this.addText(fieldText(batch, f), line);
  }

  addText(text: string, line: number): void {
    if (this.firstNonNumberLine === 0) {
      this.firstNonNumberLine = line;
      this.firstNonNumber = text.length > 40 ? `${text.slice(0, 40)}…` : text;
    }
    if (parseDate(text) === parseDate(text)) this.dates++;
    else this.others++;
    if (text.length > this.longest) this.longest = text.length;
    if (!this.distinctOverflow) {
      this.distinct.set(text, (this.distinct.get(text) ?? 0) + 1);
      if (this.distinct.size > MAX_TRACKED_DISTINCT) this.distinctOverflow = true;
    }
  }

  get present(): number {
    return this.numbers + this.dates + this.others;
  }

  type(): ColumnType {
    const present = this.present;
    if (present === 0 || this.numbers >= NUMBER_SHARE * present) return 'number';
    if (this.numbers === 0 && this.others === 0) return 'date';
    const distinct = this.distinct.size + this.numberValues.size;
    if (!this.distinctOverflow && distinct <= MAX_CATEGORIES && this.longest <= MAX_CATEGORY_LENGTH) return 'category';
    return 'text';
  }

  /** Cells that are present but not of the column's type count as missing (a stray "n.a." in a number column). */
  missingFor(type: ColumnType): number {
    if (type === 'number') return this.missing + this.dates + this.others;
    if (type === 'date') return this.missing + this.numbers + this.others;
    return this.missing;
  }

  /** A warning for stray cells in a number column, naming the first. */
  strayWarning(name: string, type: ColumnType): string | undefined {
    if (type !== 'number' || this.dates + this.others === 0) return undefined;
    return `column '${name}': ${this.dates + this.others} cell(s) are not numbers (first on line ${this.firstNonNumberLine}: ${JSON.stringify(this.firstNonNumber)}); counted as missing`;
  }
}
