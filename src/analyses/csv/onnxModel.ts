// A user's ONNX model (e.g. scikit-learn exported with skl2onnx) as the model of permutation importance. Features
// are mapped by name: one model input per column (skl2onnx's per-column inputs, shape [N, 1]); or a single [N, F]
// input fed the F feature columns in file order (a warning says the mapping is by position). The prediction is
// the output named "label" (classifiers) or the first output. Runs on the first execution provider that starts.
import { readFile } from 'node:fs/promises';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { createWithFallback, onnxruntime, parseProviders } from '../../compute/session';
import { InputError } from '../../errors';
import type { Predict } from './permutation';

export interface OnnxFeature {
  name: string;
  /** Category codes back to their text; null for number columns. */
  categories: string[] | null;
}

export interface OnnxPredictor {
  predict: Predict;
  device: string;
  warnings: string[];
  release(): Promise<void>;
}

export async function onnxPredictor(
  path: string, features: OnnxFeature[], task: 'classification' | 'regression', classes: string[], providers?: string[],
): Promise<OnnxPredictor> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new InputError(`cannot read the model ${path}: ${(error as Error).message}`);
  }
  let opened;
  try {
    opened = await createWithFallback(bytes, parseProviders(providers ?? process.env.IMPORTANCE_LENS_PROVIDERS));
  } catch (error) {
    throw new InputError(`${path}: onnxruntime cannot load this model: ${(error as Error).message.split('\n')[0]}`);
  }
  const { session, provider } = opened;
  const warnings: string[] = [];
  const feeds = inputPlan(session, features, path, warnings);
  const output = session.outputNames.includes('label') ? 'label' : session.outputNames[0]!;
  const ort = onnxruntime();

  const predict: Predict = async (x, rows) => {
    const inputs: Record<string, Tensor> = {};
    for (const feed of feeds) inputs[feed.name] = feed.make(ort, x, rows, features.length);
    let result;
    try {
      result = await session.run(inputs, [output]);
    } catch (error) {
      throw new InputError(`${path}: the model failed on the CSV's columns: ${(error as Error).message.split('\n')[0]}`);
    }
    const data = result[output]!.data as ArrayLike<number | bigint | string>;
    if (data.length !== rows) throw new InputError(`${path}: output '${output}' has ${data.length} values for ${rows} rows`);
    const out = new Float64Array(rows);
    for (let i = 0; i < rows; i++) out[i] = task === 'classification' ? classes.indexOf(String(data[i])) : Number(data[i]);
    return out;
  };
  return { predict, device: provider, warnings, release: () => session.release() };
}

interface Feed {
  name: string;
  make(ort: typeof import('onnxruntime-node'), x: Float64Array, rows: number, width: number): Tensor;
}

function inputPlan(session: InferenceSession, features: OnnxFeature[], path: string, warnings: string[]): Feed[] {
  const metas = session.inputMetadata;
  const byName = new Map(features.map((f, i) => [f.name, i]));
  if (metas.length === 1 && !byName.has(metas[0]!.name)) {
    const meta = metas[0]!;
    const shape = meta.isTensor ? meta.shape : [];
    const declared = shape.length === 2 && typeof shape[1] === 'number' ? shape[1] : features.length;
    if (declared !== features.length) {
      throw new InputError(`${path}: input '${meta.name}' takes ${declared} features but the CSV has ${features.length} feature columns (${features.map((f) => f.name).join(', ')}); name the inputs after the columns`);
    }
    warnings.push(`model input '${meta.name}' is one [N, ${declared}] tensor: columns are fed by position (${features.map((f) => f.name).join(', ')})`);
    const type = meta.isTensor ? meta.type : 'float32';
    return [{ name: meta.name, make: (ort, x, rows, width) => new ort.Tensor(type === 'float64' ? 'float64' : 'float32', type === 'float64' ? Float64Array.from(x) : Float32Array.from(x), [rows, width]) }];
  }
  return metas.map((meta) => {
    const index = byName.get(meta.name);
    if (index === undefined) throw new InputError(`${path}: model input '${meta.name}' matches no feature column (columns: ${features.map((f) => f.name).join(', ')})`);
    const type = meta.isTensor ? meta.type : 'float32';
    const shape = meta.isTensor && meta.shape.length === 1 ? (rows: number) => [rows] : (rows: number) => [rows, 1];
    const feature = features[index]!;
    return {
      name: meta.name,
      make: (ort, x, rows, width) => {
        const column = Float64Array.from({ length: rows }, (_, r) => x[r * width + index]!);
        if (type === 'string') return new ort.Tensor('string', Array.from(column, (v) => (v !== v ? '' : feature.categories?.[v] ?? String(v))), shape(rows));
        if (type === 'int64') return new ort.Tensor('int64', BigInt64Array.from(column, (v) => BigInt(v !== v ? 0 : Math.round(v))), shape(rows));
        if (type === 'float64') return new ort.Tensor('float64', column, shape(rows));
        return new ort.Tensor('float32', Float32Array.from(column), shape(rows));
      },
    };
  });
}
