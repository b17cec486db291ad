// The Dataset view of an analysis (the panel's and the HTML report's): the profile beside the result, with the
// weight of every row left out (the view lists the highest and lowest rows only; a 5 M-row list stays where it is).
import type { CsvColumnsResult, CsvDatasetView, CsvInspectResult, CsvRowsResult } from '../../protocol/csv';

export function datasetViewOf(profile: CsvInspectResult, result: CsvColumnsResult | CsvRowsResult | null): CsvDatasetView {
  if (result === null || result.kind === 'columns') return { profile, analysis: result };
  const { rows, ...rest } = result;
  return { profile, analysis: { ...rest, count: rows.length } };
}
