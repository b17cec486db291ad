// The CSV analyses behind one request kind: inspect (types, missing), columns (importance vs a target), rows (DSIR).
import { assertNever } from '../../errors';
import type { CsvRequest, CsvResult } from '../../protocol/csv';
import type { Progress } from '../../protocol/results';
import { csvColumns } from './csvColumns';
import { csvRows, namingFile } from './csvRows';
import { inspectCsv } from './inspectCsv';

export async function* csvAnalysis(request: CsvRequest, signal?: AbortSignal): AsyncGenerator<Progress, CsvResult> {
  try {
    return yield* dispatch(request, signal);
  } catch (error) {
    throw namingFile(request.path, error);
  }
}

async function* dispatch(request: CsvRequest, signal?: AbortSignal): AsyncGenerator<Progress, CsvResult> {
  switch (request.mode) {
    case 'inspect':
      return yield* inspectCsv({ path: request.path }, signal);
    case 'columns':
      return yield* csvColumns(request, signal);
    case 'rows':
      return yield* csvRows(request, signal);
    default:
      return assertNever(request, 'csv mode');
  }
}
