// The rows with the highest and the lowest DSIR weights, kept in one pass with bounded memory: a view lists them
// (with a preview of their text) without holding every row's text or reading the file again.
import type { CsvWeightedRow } from '../../protocol/csv';

export const EXTREME_ROWS = 25;
export const PREVIEW_CHARS = 200;

export class ExtremeRows {
  /** Highest weight first; ties keep file order. */
  readonly highest: CsvWeightedRow[] = [];
  /** Lowest weight first; ties keep file order. */
  readonly lowest: CsvWeightedRow[] = [];

  constructor(private readonly keep = EXTREME_ROWS) {}

  add(line: number, weight: number, text: string): void {
    // Most rows qualify for neither list: decide that before making the preview string.
    const high = this.qualifies(this.highest, weight, (a, b) => a > b);
    const low = this.qualifies(this.lowest, weight, (a, b) => a < b);
    if (!high && !low) return;
    const row = { line, weight, text: text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text };
    if (high) this.insert(this.highest, row, (a, b) => a > b);
    if (low) this.insert(this.lowest, row, (a, b) => a < b);
  }

  private qualifies(list: CsvWeightedRow[], weight: number, before: (a: number, b: number) => boolean): boolean {
    return list.length < this.keep || before(weight, list[list.length - 1]!.weight);
  }

  private insert(list: CsvWeightedRow[], row: CsvWeightedRow, before: (a: number, b: number) => boolean): void {
    let at = list.length;
    while (at > 0 && before(row.weight, list[at - 1]!.weight)) at--;
    list.splice(at, 0, row);
    if (list.length > this.keep) list.pop();
  }
}
