// `csv FILE --text-column C --target-file T [--out F --k K]`: DSIR importance weights of every row's text vs a
// target sample, and optionally k rows resampled into a new CSV (the rows copied byte for byte, header first).
// Streams the file twice (raw n-gram counts, then weights) and a third time to copy the chosen rows.
import { createReadStream } from 'node:fs';
import { link, lstat, open, realpath, rename, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { InputError, throwIfAborted } from '../../errors';
import { openCsv, readBatches, type CsvLayout } from '../../formats/csv/reader';
import { fieldText } from '../../formats/csv/scanner';
import type { CsvRowsResult } from '../../protocol/csv';
import type { Progress } from '../../protocol/results';
import { BUCKETS, BucketCounts, gumbelTopK, logRatios, rowWeight } from './dsir';
import { ExtremeRows, weightHistogram } from './extremeRows';

/** One (line, weight) per row goes into the result document: past this many rows it would not fit one JSON string. */
export const MAX_ROWS = 5_000_000;

export interface CsvRowsInput {
  path: string;
  textColumn: string;
  targetFile: string;
  out?: string;
  k?: number;
  seed?: number;
}

export async function* csvRows(input: CsvRowsInput, signal?: AbortSignal): AsyncGenerator<Progress, CsvRowsResult> {
  const layout = await openCsv(input.path);
  const column = columnIndex(layout, input.textColumn);
  if (input.out) await refuseSource(input.out, [input.path, input.targetFile]);
  yield { message: `Reading the target sample ${input.targetFile}` };
  const target = await targetCounts(input.targetFile, input.textColumn, signal);
  if (target.total === 0) throw new InputError(`${input.targetFile}: the target sample has no words`);

  yield { message: `Counting n-grams of '${input.textColumn}'` };
  const raw = new BucketCounts();
  await eachText(layout, column, (text) => raw.add(text), signal);
  const ratios = logRatios(target, raw);

  yield { message: 'Weighting rows' };
  let weights = new Float64Array(1024);
  let lines = new Int32Array(1024);
  let n = 0;
  const extremes = new ExtremeRows();
  await eachText(layout, column, (text, line) => {
    if (n === MAX_ROWS) throw new InputError(`${layout.path}: more than ${MAX_ROWS} rows; their weights would not fit one JSON document (split the file)`);
    if (n === weights.length) {
      const w = new Float64Array(n * 2); w.set(weights); weights = w;
      const l = new Int32Array(n * 2); l.set(lines); lines = l;
    }
    const weight = rowWeight(text, ratios);
    weights[n] = weight;
    lines[n++] = line;
    extremes.add(line, weight, text);
  }, signal);
  const rows = Array.from({ length: n }, (_, i) => ({ line: lines[i]!, weight: weights[i]! }));
  let resampled: CsvRowsResult['resampled'] = null;
  if (input.out) {
    const k = Math.min(n, input.k ?? Math.max(1, Math.round(n / 10)));
    const chosen = gumbelTopK(weights.subarray(0, n), k, input.seed ?? 0).map((i) => lines[i]!);
    yield { message: `Writing ${k} rows to ${input.out}` };
    await writeRows(layout, new Set(chosen), input.out, signal);
    resampled = { out: input.out, k, lines: chosen };
  }
  return { kind: 'rows', path: input.path, textColumn: input.textColumn, targetFile: input.targetFile, rows, highest: extremes.highest, lowest: extremes.lowest, histogram: weightHistogram(weights.subarray(0, n)), buckets: BUCKETS, resampled, warnings: [...layout.warnings] };
}

function columnIndex(layout: CsvLayout, name: string): number {
  const column = layout.columns.indexOf(name);
  if (column < 0) throw new InputError(`${layout.path}: no column '${name}' (columns: ${layout.columns.slice(0, 20).join(', ')})`);
  return column;
}

/** Calls `visit` with every row's text and line; batch by batch, so a row costs no promise of its own. */
async function eachText(layout: CsvLayout, column: number, visit: (text: string, line: number) => void, signal?: AbortSignal): Promise<void> {
  for await (const { batch, from } of readBatches(layout, signal)) {
    for (let r = from; r < batch.count; r++) visit(fieldText(batch, batch.firstField[r]! + column), batch.lines[r]!);
  }
}

/** The CSV scanner reports "line N: ..." without the file (it is fed bytes, not a path): the error naming `path`. */
export function namingFile(path: string, error: unknown): unknown {
  return error instanceof InputError && /^line \d+: /.test(error.message) ? new InputError(`${path}: ${error.message}`) : error;
}

/** The target sample: a CSV (its column of the same name) or a plain text file, one example per line (streamed). */
async function targetCounts(path: string, columnName: string, signal?: AbortSignal): Promise<BucketCounts> {
  const counts = new BucketCounts();
  const ext = extname(path).toLowerCase();
  if (ext === '.csv' || ext === '.tsv') {
    try {
      const layout = await openCsv(path);
      await eachText(layout, columnIndex(layout, columnName), (text) => counts.add(text), signal);
    } catch (error) {
      throw namingFile(path, error);
    }
    return counts;
  }
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let carry = '';
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      throwIfAborted(signal);
      const text = carry + chunk;
      const cut = text.lastIndexOf('\n');
      if (cut < 0 && text.length > 1 << 20) { counts.add(text); carry = ''; continue; }
      for (const line of text.slice(0, cut).split('\n')) counts.add(line); // a line is one example, as a CSV row is
      carry = text.slice(cut + 1);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code) throw new InputError(`cannot read the target sample ${path}: ${(error as Error).message}`);
    throw error;
  }
  counts.add(carry);
  return counts;
}

/** --out may be neither the CSV nor the target sample (a resample never replaces its source), nor any other
 * existing file or link: the resample is always a new file. */
async function refuseSource(out: string, sources: string[]): Promise<void> {
  const real = async (p: string) => realpath(p).catch(() => resolve(p));
  const target = await real(out);
  for (const source of sources) {
    if (target === (await real(source))) throw new InputError(`--out ${out} is an input file; the resample is written to a new file, never over its source`);
  }
  if (await exists(out)) throw new InputError(`--out ${out} already exists; the resample is written to a new file and never replaces one: choose a new path`);
}

const exists = (path: string) => lstat(path).then(() => true, () => false);

/** File systems where hard links are not available; there the move falls back to check-then-rename. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/** Moves `temp` to the new path `out`. A hard link fails where a rename would replace a file that appeared at
 * `out` while the rows were written, so nothing the user has is ever overwritten. */
async function moveToNewPath(temp: string, out: string): Promise<void> {
  const appeared = () => new InputError(`--out ${out} appeared while the resample was being written; it was left as it is and the resample discarded: choose a new path`);
  try {
    await link(temp, out);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') throw appeared();
    if (!NO_HARD_LINKS.has(code)) throw error;
    if (await exists(out)) throw appeared();
    await rename(temp, out);
    return;
  }
  await unlink(temp);
}

/** Copies the header and the chosen records to the new file `out` through a temp file moved into place (atomic;
 * bounded memory). */
async function writeRows(layout: CsvLayout, lines: Set<number>, out: string, signal?: AbortSignal): Promise<void> {
  const temp = join(dirname(out), `.${basename(out)}.${process.pid}.${Date.now()}.tmp`);
  let handle;
  try {
    handle = await open(temp, 'wx');
  } catch (error) {
    throw new InputError(`cannot write ${out}: ${(error as Error).message}`);
  }
  try {
    let first = true;
    for await (const { batch, from } of readBatches(layout, signal)) {
      const parts: Buffer[] = [];
      if (first && from === 1) parts.push(batch.buf.subarray(batch.recordStart[0], batch.recordEnd[0]));
      first = false;
      for (let r = from; r < batch.count; r++) {
        if (!lines.has(batch.lines[r]!)) continue;
        const bytes = batch.buf.subarray(batch.recordStart[r], batch.recordEnd[r]);
        parts.push(bytes);
        if (bytes[bytes.length - 1] !== layout.newline.charCodeAt(0)) parts.push(Buffer.from(layout.newline)); // the file's last record had none
      }
      if (parts.length > 0) await handle.write(Buffer.concat(parts));
    }
    await handle.close();
    handle = undefined;
    await moveToNewPath(temp, out);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    if (error instanceof InputError) throw error;
    throw new InputError(`cannot write ${out}: ${(error as Error).message}`);
  }
}
