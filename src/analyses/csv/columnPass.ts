// One streamed pass over a CSV for column importance. The first rows (the head) are held to infer column types,
// the target's task and classes, and fine quantile cut points; then every row (head included) is counted into a
// contingency table per column, and a seeded reservoir keeps a uniform sample of rows for the model. Memory is
// bounded by the head, the tables and the reservoir, whatever the file's size.
import { seededRandom } from '../../compute/random';
import { InputError, throwIfAborted } from '../../errors';
import { ColumnProfile, type ColumnType } from '../../formats/csv/profile';
import { readBatches, type CsvLayout } from '../../formats/csv/reader';
import { fieldText } from '../../formats/csv/scanner';
import { isMissing, parseDate, parseNumber } from '../../formats/csv/values';
import type { Progress } from '../../protocol/results';
import { binOf, coarseBinCount, quantileEdges } from './mutualInfo';

const HEAD_CELLS = 2_000_000;
const HEAD_ROWS = 20_000;
/** Fine bins per number column before merging into coarse ones. */
const FINE_BINS = 128;
/** Categories kept per column (by frequency in the head); the rest share an "other" code. */
const MAX_CODES = 32;
export const MAX_CLASSES = 64;
export const SAMPLE_ROWS = 10_000;
/** Memory caps (in float64 cells) for the contingency tables and the reservoir, whatever the number of columns. */
const TABLE_CELLS = 16_000_000;
const SAMPLE_CELLS = 2_000_000;
export const MAX_FEATURES = 20_000;

export interface Feature {
  name: string;
  column: number;
  type: ColumnType;
  edges: Float64Array | null; // number and date columns
  vocab: Map<string, number> | null; // category columns; code vocab.size = other
  /** Fine bins including the last one, "missing". */
  fine: number;
  joint: Float64Array;
  stray: number;
}

export interface Target {
  name: string;
  column: number;
  task: 'classification' | 'regression';
  classes: string[]; // classification
  edges: Float64Array; // regression: coarse cut points for MI
  width: number; // columns of the contingency tables
}

export interface PassResult {
  rows: number;
  counted: number;
  features: Feature[];
  target: Target;
  skipped: { name: string; reason: string }[];
  profiles: ColumnProfile[];
  /** Reservoir sample: row-major features (numbers, or category codes; NaN missing) and targets. */
  sample: { x: Float64Array; y: Float64Array; rows: number };
  warnings: string[];
}

type Cell = { num: number; text: string | undefined };

export async function* columnPass(layout: CsvLayout, targetName: string, seed: number, signal?: AbortSignal): AsyncGenerator<Progress, PassResult> {
  const targetColumn = layout.columns.indexOf(targetName);
  if (targetColumn < 0) throw new InputError(`${layout.path}: no column '${targetName}' (columns: ${layout.columns.slice(0, 20).join(', ')}${layout.columns.length > 20 ? ', …' : ''})`);
  const width = layout.columns.length;
  if (width - 1 > MAX_FEATURES) throw new InputError(`${layout.path}: ${width} columns; column importance handles up to ${MAX_FEATURES} (select the columns first)`);
  const headRows = Math.max(100, Math.min(HEAD_ROWS, Math.floor(HEAD_CELLS / width)));
  const headNum = layout.columns.map(() => new Float64Array(headRows));
  const headText = layout.columns.map(() => new Array<string | undefined>(headRows));
  const headLines = new Int32Array(headRows);
  const profiles = layout.columns.map(() => new ColumnProfile());
  let held = 0;
  let state: ReturnType<typeof prepare> | undefined;
  let done = 0;
  const cell: Cell = { num: NaN, text: undefined };
  for await (const { batch, from } of readBatches(layout, signal)) {
    for (let r = from; r < batch.count; r++) {
      const first = batch.firstField[r]!;
      if (state) {
        for (let c = 0; c < width; c++) {
          const f = first + c;
          const num = parseNumber(batch.buf, batch.fieldStart[f]!, batch.fieldEnd[f]!);
          state.values[c] = num === num ? state.encode(c, num, undefined) : isMissing(batch.buf, batch.fieldStart[f]!, batch.fieldEnd[f]!) ? NaN : state.encode(c, NaN, fieldText(batch, f));
        }
        state.count();
        continue;
      }
      for (let c = 0; c < width; c++) {
        const f = first + c;
        profiles[c]!.add(batch, f, batch.lines[r]!);
        const num = parseNumber(batch.buf, batch.fieldStart[f]!, batch.fieldEnd[f]!);
        headNum[c]![held] = num;
        headText[c]![held] = num === num || isMissing(batch.buf, batch.fieldStart[f]!, batch.fieldEnd[f]!) ? undefined : fieldText(batch, f);
      }
      headLines[held++] = batch.lines[r]!;
      if (held === headRows) state = replay();
    }
    done += batch.recordEnd[batch.count - 1]!;
    throwIfAborted(signal);
    yield { message: `Counting ${layout.path}`, fraction: layout.size > 0 ? Math.min(1, done / layout.size) : 1 };
  }
  state ??= replay();
  return state.finish();

  function replay(): ReturnType<typeof prepare> {
    const prepared = prepare(layout, profiles, headNum, headText, held, targetColumn, seed);
    for (let r = 0; r < held; r++) {
      for (let c = 0; c < width; c++) {
        const num = headNum[c]![r]!;
        cell.num = num;
        cell.text = headText[c]![r];
        prepared.values[c] = num === num ? prepared.encode(c, num, undefined) : cell.text === undefined ? NaN : prepared.encode(c, NaN, cell.text);
      }
      prepared.count();
    }
    return prepared;
  }
}

function prepare(layout: CsvLayout, profiles: ColumnProfile[], headNum: Float64Array[], headText: (string | undefined)[][], held: number, targetColumn: number, seed: number) {
  const warnings: string[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const types = profiles.map((p) => p.type());
  const target = targetOf(layout.path, layout.columns[targetColumn]!, targetColumn, types[targetColumn]!, profiles[targetColumn]!, headNum[targetColumn]!.subarray(0, held), held);
  const features: Feature[] = [];
  // Fewer fine bins for very wide files, so that the tables stay within TABLE_CELLS.
  const fineBins = Math.max(16, Math.min(FINE_BINS, Math.floor(TABLE_CELLS / Math.max(1, layout.columns.length * target.width))));
  const featureOf = new Int32Array(layout.columns.length).fill(-1);
  layout.columns.forEach((name, c) => {
    if (c === targetColumn) return;
    const type = types[c]!;
    if (type === 'text') { skipped.push({ name, reason: 'free text (use --text-column for row importance)' }); return; }
    let edges: Float64Array | null = null;
    let vocab: Map<string, number> | null = null;
    let fine: number;
    if (type === 'category') {
      vocab = topCodes(profiles[c]!);
      fine = vocab.size + 2;
    } else {
      const values = type === 'date' ? Float64Array.from(headText[c]!.slice(0, held), (t) => (t === undefined ? NaN : parseDate(t))) : headNum[c]!.subarray(0, held);
      edges = quantileEdges(values, fineBins);
      fine = edges.length + 2;
    }
    featureOf[c] = features.length;
    features.push({ name, column: c, type, edges, vocab, fine, joint: new Float64Array(fine * target.width), stray: 0 });
  });
  const values = new Float64Array(layout.columns.length);
  const fx = features.length;
  const sampleRows = Math.max(100, Math.min(SAMPLE_ROWS, Math.floor(SAMPLE_CELLS / Math.max(1, fx))));
  const sample = { x: new Float64Array(sampleRows * fx), y: new Float64Array(sampleRows), rows: 0 };
  const random = seededRandom(seed);
  let rows = 0;
  let counted = 0;
  let otherClass = 0;

  const encode = (c: number, num: number, text: string | undefined): number => {
    const k = featureOf[c]!;
    if (c === targetColumn) {
      if (target.task === 'regression') return num;
      const code = target.classes.indexOf(text ?? String(num));
      if (code < 0) otherClass++;
      return code < 0 ? NaN : code;
    }
    if (k < 0) return NaN;
    const feature = features[k]!;
    if (feature.vocab) { const code = feature.vocab.get(text ?? String(num)); return code ?? feature.vocab.size; }
    if (feature.type === 'date') return text === undefined ? NaN : parseDate(text);
    if (num !== num) feature.stray++;
    return num;
  };

  const count = (): void => {
    rows++;
    const y = values[targetColumn]!;
    if (y !== y) return;
    counted++;
    const t = target.task === 'classification' ? y : binOf(target.edges, y);
    for (let k = 0; k < fx; k++) {
      const feature = features[k]!;
      const v = values[feature.column]!;
      const bin = v !== v ? feature.fine - 1 : feature.edges ? binOf(feature.edges, v) : v;
      feature.joint[bin * target.width + t]!++;
    }
    // Reservoir sampling (Algorithm R): every counted row ends up in the sample with the same probability.
    const slot = sample.rows < sampleRows ? sample.rows++ : Math.floor(random() * counted);
    if (slot < sampleRows) {
      for (let k = 0; k < fx; k++) sample.x[slot * fx + k] = values[features[k]!.column]!;
      sample.y[slot] = y;
    }
  };

  const finish = (): PassResult => {
    for (const f of features) if (f.stray > 0) warnings.push(profiles[f.column]!.strayWarning(f.name, 'number') ?? `column '${f.name}': ${f.stray} cells are not numbers; counted as missing`);
    for (const f of features) {
      if (!f.edges || counted < 2 * held) continue;
      // The fine cut points come from the head: a file sorted (or drifting) along a column piles the later rows into
      // the open end bins, and the merged bins lose resolution there.
      const outside = [0, f.fine - 2].reduce((sum, bin) => sum + f.joint.subarray(bin * target.width, (bin + 1) * target.width).reduce((a, b) => a + b, 0), 0);
      if (outside > 0.2 * counted) warnings.push(`column '${f.name}': ${Math.round((100 * outside) / counted)}% of its values lie beyond the range of the first ${held} rows (is the file sorted by it?); its mutual information may be underestimated`);
    }
    if (otherClass > 0) warnings.push(`target '${target.name}': ${otherClass} rows have a class not seen in the first ${held} rows; they are left out`);
    if (counted === 0) throw new InputError(`${layout.path}: the target column '${target.name}' has no values`);
    return {
      rows, counted, features, target, skipped, profiles, warnings,
      sample: { x: sample.x.subarray(0, sample.rows * fx), y: sample.y.subarray(0, sample.rows), rows: sample.rows },
    };
  };
  return { values, encode, count, finish };
}

function targetOf(path: string, name: string, column: number, type: ColumnType, profile: ColumnProfile, head: Float64Array, held: number): Target {
  if (type === 'text' || type === 'date') throw new InputError(`${path}: target '${name}' is ${type === 'text' ? 'free text' : 'a date'}; pick a number or category column`);
  // Numbers with few distinct integer values are class labels (0/1, 1..5); other numbers are a regression target.
  const classification = type === 'category' || (type === 'number' && profile.integersOnly && profile.numberValues.size <= 20);
  if (!classification) {
    const edges = quantileEdges(head, coarseBinCount(held));
    return { name, column, task: 'regression', classes: [], edges, width: edges.length + 1 };
  }
  const classes = [...[...profile.numberValues].sort((a, b) => a - b).map(String), ...[...profile.distinct.keys()].sort()];
  if (classes.length > MAX_CLASSES) throw new InputError(`${path}: target '${name}' has more than ${MAX_CLASSES} classes`);
  if (classes.length < 2) throw new InputError(`${path}: target '${name}' has a single value in the first ${held} rows; nothing to predict`);
  return { name, column, task: 'classification', classes, edges: new Float64Array(0), width: classes.length };
}

function topCodes(profile: ColumnProfile): Map<string, number> {
  const entries: [string, number][] = [...profile.distinct.entries()];
  for (const v of profile.numberValues) entries.push([String(v), 1]);
  entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return new Map(entries.slice(0, MAX_CODES).map(([key], i) => [key, i]));
}
