// `csv FILE --target COL [--model M.onnx]`: column importance vs a target. Mutual information over every row
// (streamed, columnPass.ts), and permutation importance on a held-out part of a uniform sample of rows, with the
// user's ONNX model or a built-in random forest; their agreement is Spearman's rank correlation.
import { seededRandom } from '../../compute/random';
import { openCsv } from '../../formats/csv/reader';
import type { CsvColumnImportance, CsvColumnsResult } from '../../protocol/csv';
import type { Progress } from '../../protocol/results';
import { columnPass, type PassResult } from './columnPass';
import { binColumns, MAX_BINS, RandomForest } from './forest';
import { coarseBinCount, mergeFineBins, mutualInformation, quantileEdges } from './mutualInfo';
import { onnxPredictor } from './onnxModel';
import { permutationImportance, spearman, summarise, type Permuted, type Predict } from './permutation';

export interface CsvColumnsInput {
  path: string;
  target: string;
  model?: string;
  repeats?: number;
  seed?: number;
  providers?: string[];
}

const FOLDS = 4;
/** The built-in model's permutation importance covers at most this many columns (those with the most mutual
 * information); a user's model gets every column permuted. */
export const MAX_PERMUTED = 100;
const MIN_ROWS = 2 * FOLDS;
const ROUND_ROWS = 5000;
const MAX_ROUNDS = 10;
const ROUND_COLUMNS = 500;

export async function* csvColumns(input: CsvColumnsInput, signal?: AbortSignal): AsyncGenerator<Progress, CsvColumnsResult> {
  const seed = input.seed ?? 0;
  const repeats = input.repeats ?? 5;
  const layout = await openCsv(input.path);
  const pass = yield* columnPass(layout, input.target, seed, signal);
  const { features, target } = pass;
  const warnings = [...layout.warnings, ...pass.warnings];
  const bins = coarseBinCount(pass.counted);
  const mi = features.map((f) => {
    const merged = f.vocab ? { table: f.joint, rows: f.fine } : mergeFineBins(f.joint, f.fine, target.width, bins);
    return mutualInformation(merged.table, merged.rows, target.width);
  });

  yield { message: input.model ? `Permutation importance with ${input.model}` : 'Permutation importance with a random forest' };
  let model: CsvColumnsResult['model'] = null;
  let permutation: { mean: number[]; sd: number[] } | null = null;
  let device = 'cpu';
  const sample: Part = pass.sample;
  let only: Set<number> | undefined;
  if (!input.model && features.length > MAX_PERMUTED) {
    only = new Set(mi.map((v, k) => [v, k] as const).sort((a, b) => b[0] - a[0]).slice(0, MAX_PERMUTED).map(([, k]) => k));
    warnings.push(`permutation importance of the ${MAX_PERMUTED} columns with the most mutual information only (of ${features.length})`);
  }
  if (features.length > 0 && sample.rows >= MIN_ROWS) {
    let result: Permuted & { trainRows: number };
    if (input.model) {
      // The user's model is already fitted: every sampled row is held out.
      const onnx = await onnxPredictor(input.model, features.map((f) => ({ name: f.name, categories: f.vocab ? [...f.vocab.keys()] : null })), target.task, target.classes, input.providers);
      device = onnx.device;
      warnings.push(...onnx.warnings);
      try {
        result = { ...(await permutationImportance(onnx.predict, sample.x, sample.rows, features.length, sample.y, target.task, repeats, seed + 1, signal)), trainRows: 0 };
      } finally {
        await onnx.release();
      }
    } else {
      result = await crossFitted(pass, repeats, seed, signal, only);
    }
    permutation = result;
    model = {
      kind: input.model ? 'onnx' : 'random-forest', path: input.model ?? null, score: result.baseline,
      metric: target.task === 'classification' ? 'accuracy' : 'r2', trainRows: result.trainRows, testRows: sample.rows, repeats,
    };
  } else if (features.length > 0) {
    warnings.push('too few rows with a target value for permutation importance');
  }

  const useModel = input.model !== undefined && permutation !== null;
  const columns: CsvColumnImportance[] = features.map((f, k) => ({
    name: f.name, type: f.type,
    importance: useModel ? permutation!.mean[k]! : mi[k]!,
    method: useModel ? 'permutation' : 'mutual-information',
    rank: 0,
    mutualInformation: mi[k]!,
    permutation: permutation && !Number.isNaN(permutation.mean[k]) ? { mean: permutation.mean[k]!, sd: permutation.sd[k]! } : null,
    missing: pass.profiles[f.column]!.missingFor(f.type),
  }));
  [...columns].sort((a, b) => b.importance - a.importance || a.name.localeCompare(b.name)).forEach((c, i) => { c.rank = i + 1; });
  columns.sort((a, b) => a.rank - b.rank);
  const permuted = permutation ? mi.map((_, k) => k).filter((k) => !Number.isNaN(permutation!.mean[k])) : [];
  const agreement = permutation ? spearman(permuted.map((k) => mi[k]!), permuted.map((k) => permutation!.mean[k]!)) : null;
  return {
    kind: 'columns', path: input.path, target: target.name, task: target.task, rows: pass.rows, columns,
    skipped: pass.skipped, model, agreement, device, warnings,
  };
}

interface Part { x: Float64Array; y: Float64Array; rows: number }

/**
 * Permutation importance of a random forest by K-fold cross-fitting: each fold is held out once from a forest fitted
 * on the others, so every sampled row is scored and the estimate is far steadier than one train/test split. A
 * repeat's drop is the mean over folds; the baseline is the mean held-out score.
 */
async function crossFitted(pass: PassResult, repeats: number, seed: number, signal?: AbortSignal, only?: ReadonlySet<number>): Promise<Permuted & { trainRows: number }> {
  const { x, y, rows } = pass.sample;
  const fx = pass.features.length;
  // Small samples make a noisy estimate (one shuffled row moves accuracy by 1/rows): repeat the cross-fitting with
  // new folds until about ROUND_ROWS rows have been scored, at most MAX_ROUNDS times.
  // Wide files get fewer rounds: the work grows with the columns and the estimate is steadier with more rows anyway.
  const rounds = Math.max(1, Math.min(MAX_ROUNDS, Math.ceil(ROUND_ROWS / rows), Math.floor(ROUND_COLUMNS / fx)));
  const random = seededRandom(seed + 7);
  const take = (ids: number[]): Part => {
    const part = { x: new Float64Array(ids.length * fx), y: new Float64Array(ids.length), rows: ids.length };
    ids.forEach((id, i) => { part.x.set(x.subarray(id * fx, id * fx + fx), i * fx); part.y[i] = y[id]!; });
    return part;
  };
  const drops = pass.features.map(() => new Array<number>(repeats).fill(0));
  let baseline = 0;
  let trainRows = 0;
  for (let round = 0; round < rounds; round++) {
  const order = Array.from({ length: rows }, (_, i) => i);
  for (let i = rows - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (let k = 0; k < FOLDS; k++) {
    const test = order.filter((_, i) => i % FOLDS === k);
    const train = take(order.filter((_, i) => i % FOLDS !== k));
    trainRows = Math.max(trainRows, train.rows);
    const held = take(test);
    // The held-out rows are binned once and shuffled as bins: the same as shuffling values, without re-binning.
    const { predict, edges } = fitForest(pass, train, seed + 10 * round + k);
    const binned = binColumns(held.x, held.rows, fx, edges).bins;
    const result = await permutationImportance(predict, binned, held.rows, fx, held.y, pass.target.task, repeats, seed + 100 + 10 * round + k, signal, only);
    baseline += result.baseline / (FOLDS * rounds);
    result.drops.forEach((d, f) => d.forEach((v, r) => { drops[f]![r]! += v / (FOLDS * rounds); }));
  }
  }
  return { baseline, ...summarise(drops), drops, trainRows };
}
/** A forest on the training rows; its predict takes rows already binned with the returned cut points. */
function fitForest(pass: PassResult, train: Part, seed: number): { predict: Predict; edges: Float64Array[] } {
  const fx = pass.features.length;
  const edges = pass.features.map((_, k) => quantileEdges(Float64Array.from({ length: train.rows }, (_, r) => train.x[r * fx + k]!), MAX_BINS));
  const forest = new RandomForest({
    task: pass.target.task, classes: pass.target.classes.length, trees: 100, maxDepth: 30, minLeaf: 1, seed,
  }).fit(binColumns(train.x, train.rows, fx, edges), train.y);
  return { predict: async (bins, rows) => forest.predict({ bins, rows, features: fx }), edges };
}
