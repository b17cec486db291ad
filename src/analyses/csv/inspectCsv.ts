// `inspect` on a CSV: one streamed pass, rows and per-column type and missing count.
import { throwIfAborted } from '../../errors';
import { ColumnProfile } from '../../formats/csv/profile';
import { openCsv, readBatches } from '../../formats/csv/reader';
import type { CsvInspectResult } from '../../protocol/csv';
import type { Progress } from '../../protocol/results';

export async function* inspectCsv(input: { path: string }, signal?: AbortSignal): AsyncGenerator<Progress, CsvInspectResult> {
  const layout = await openCsv(input.path);
  const profiles = layout.columns.map(() => new ColumnProfile());
  let rows = 0;
  let done = 0;
  yield { message: `Reading ${input.path}`, fraction: 0 };
  for await (const { batch, from } of readBatches(layout, signal)) {
    for (let r = from; r < batch.count; r++) {
      const first = batch.firstField[r]!;
      const line = batch.lines[r]!;
      for (let c = 0; c < profiles.length; c++) profiles[c]!.add(batch, first + c, line);
    }
    rows += batch.count - from;
    done += batch.recordEnd[batch.count - 1]!;
    throwIfAborted(signal);
    yield { message: `Reading ${input.path}: ${rows} rows`, fraction: layout.size > 0 ? Math.min(1, done / layout.size) : 1 };
  }
  const warnings = [...layout.warnings];
  const columns = layout.columns.map((name, c) => {
    const profile = profiles[c]!;
    const type = profile.type();
    const stray = profile.strayWarning(name, type);
    if (stray) warnings.push(stray);
    const distinct = type === 'number' ? (profile.numberValues.size > 64 ? null : profile.numberValues.size) : profile.distinctOverflow ? null : profile.distinct.size;
    const numeric = type === 'number' && profile.numbers > 0;
    return {
      name, type, missing: profile.missingFor(type), distinct,
      min: numeric ? profile.min : null, max: numeric ? profile.max : null, mean: numeric ? profile.sum / profile.numbers : null,
    };
  });
  return { format: 'csv', path: input.path, bytes: layout.size, rows, delimiter: layout.delimiter, header: layout.header, columns, warnings };
}
