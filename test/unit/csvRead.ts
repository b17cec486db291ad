// Reads a whole CSV through the streaming reader into strings, for tests.
import { openCsv, readBatches } from '../../src/formats/csv/reader';
import { fieldText } from '../../src/formats/csv/scanner';

export async function readAll(path: string): Promise<{ columns: string[]; header: boolean; delimiter: string; rows: string[][]; lines: number[] }> {
  const layout = await openCsv(path);
  const rows: string[][] = [];
  const lines: number[] = [];
  for await (const { batch, from } of readBatches(layout)) {
    for (let r = from; r < batch.count; r++) {
      const row: string[] = [];
      for (let f = batch.firstField[r]!; f < batch.firstField[r + 1]!; f++) row.push(fieldText(batch, f));
      rows.push(row);
      lines.push(batch.lines[r]!);
    }
  }
  return { columns: layout.columns, header: layout.header, delimiter: layout.delimiter, rows, lines };
}
