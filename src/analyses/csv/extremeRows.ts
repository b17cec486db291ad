// What a view shows of DSIR weights without the weight of every row: the rows with the highest and the lowest
// weights (kept in one pass with bounded memory, with a preview of their text) and a histogram of all weights.
import type { CsvWeightedRow } from '../../protocol/csv';

export const EXTREME_ROWS = 25;
export const HISTOGRAM_BINS = 12;
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

/** Equal-width bins from the lowest to the highest weight; one bin when all weights are equal, none without rows. */
export function weightHistogram(weights: Float64Array, bins = HISTOGRAM_BINS): { edges: number[]; counts: number[] } {
  if (weights.length === 0) return { edges: [], counts: [] };
  let min = Infinity;
  let max = -Infinity;
  for (const w of weights) {
    if (w < min) min = w;
    if (w > max) max = w;
  }
  const n = max > min ? bins : 1;
  const width = (max - min) / n;
  const counts = new Array<number>(n).fill(0);
  for (const w of weights) counts[width > 0 ? Math.min(n - 1, Math.floor((w - min) / width)) : 0]!++;
  return { edges: Array.from({ length: n + 1 }, (_, i) => (i === n ? max : min + i * width)), counts };
}
