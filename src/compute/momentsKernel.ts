// The per-chunk moments of moments.ts as an ONNX graph (on an idle CPU it beats the typed-array loop, and it runs
// unchanged on a GPU provider: docs/benchmarks.md). Same definitions: NaN/±Inf are counted and left out, zeros are
// counted. The chunk is laid out as rows of ROW elements; the graph gives each row's moments about the row's own
// mean, summed in float32 over only ROW values, and the rows are merged here in float64 with Pébay's formulas, so
// the float32 accumulation of ORT (WebGPU has no float64) costs little precision. Each row is first shifted by its
// first value (exact for values within a factor of two of it), so a large mean (a norm weight at 1000 ± 0.01)
// does not swamp the float32 sums. Leftover elements of a chunk
// that fill no whole row go through the typed loop.
import type { InferenceSession } from 'onnxruntime-node';
import { chunkMoments, emptyMoments, mergeMoments, type MomentState } from './moments';
import { constant, modelBytes, node, value } from './onnxGraph';
import { createSession, onnxruntime, type ProviderName } from './session';

export const ROW = 1024;
const OUTPUTS = ['finite', 'non_finite', 'zeros', 'sum_squares', 'absmax', 'shift', 'shifted_mean', 'm2', 'm3', 'm4'] as const;

export function momentsModel(): Uint8Array {
  const perRow = (name: string) => value(name, 'float', ['rows', 1]);
  const rowSum = (input: string, output: string) => node('ReduceSum', [input, 'axis'], [output], { keepdims: 1 });
  return modelBytes({
    name: 'row_moments',
    inputs: [value('x', 'float', ['rows', ROW])],
    outputs: OUTPUTS.map(perRow),
    initializers: [
      constant('zero', 'float', [], [0]), constant('one', 'float', [], [1]), constant('axis', 'int64', [1], [1]),
      constant('first', 'int64', [1], [0]), constant('second', 'int64', [1], [1]),
    ],
    nodes: [
      node('IsNaN', ['x'], ['nan']),
      node('IsInf', ['x'], ['inf']),
      node('Or', ['nan', 'inf'], ['bad']),
      node('Where', ['bad', 'zero', 'x'], ['clean']),
      node('Cast', ['bad'], ['bad_f'], { to: 1 }),
      rowSum('bad_f', 'non_finite'),
      node('Sub', ['one', 'bad_f'], ['good_f']),
      rowSum('good_f', 'finite'),
      node('Equal', ['x', 'zero'], ['is_zero']),
      node('Cast', ['is_zero'], ['is_zero_f'], { to: 1 }),
      rowSum('is_zero_f', 'zeros'),
      node('Mul', ['clean', 'clean'], ['squares']),
      rowSum('squares', 'sum_squares'),
      node('Abs', ['clean'], ['abs']),
      node('ReduceMax', ['abs'], ['absmax'], { axes: [1], keepdims: 1 }),
      node('Slice', ['clean', 'first', 'second', 'axis'], ['shift']),
      node('Sub', ['clean', 'shift'], ['shifted_raw']),
      node('Where', ['bad', 'zero', 'shifted_raw'], ['shifted']),
      rowSum('shifted', 'sum'),
      node('Max', ['finite', 'one'], ['divisor']),
      node('Div', ['sum', 'divisor'], ['shifted_mean']),
      node('Sub', ['shifted', 'shifted_mean'], ['centred']),
      node('Where', ['bad', 'zero', 'centred'], ['d']),
      node('Mul', ['d', 'd'], ['d2']),
      rowSum('d2', 'm2'),
      node('Mul', ['d2', 'd'], ['d3']),
      rowSum('d3', 'm3'),
      node('Mul', ['d2', 'd2'], ['d4']),
      rowSum('d4', 'm4'),
    ],
  });
}

/** Chunk moments through onnxruntime on one provider; one session per kernel instance. */
export class MomentsKernel {
  private constructor(private readonly session: InferenceSession) {}

  static async create(provider: ProviderName): Promise<MomentsKernel> {
    return new MomentsKernel(await createSession(momentsModel(), provider));
  }

  async moments(values: Float32Array, count: number): Promise<MomentState> {
    const rows = Math.floor(count / ROW);
    const tail = chunkMoments(values.subarray(rows * ROW, count), count - rows * ROW);
    if (rows === 0) return tail;
    const { Tensor } = onnxruntime();
    const out = await this.session.run({ x: new Tensor('float32', values.subarray(0, rows * ROW), [rows, ROW]) });
    const column = (name: (typeof OUTPUTS)[number]) => out[name]!.data as Float32Array;
    const [finite, nonFinite, zeros, sumSquares, absmax, shift, mean, m2, m3, m4] = OUTPUTS.map(column) as [
      Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array,
    ];
    let state = tail;
    for (let r = 0; r < rows; r++) {
      const row: MomentState = finite[r] === 0
        ? { ...emptyMoments(), nonFinite: nonFinite[r]! }
        : { n: finite[r]!, mean: shift[r]! + mean[r]!, m2: m2[r]!, m3: m3[r]!, m4: m4[r]!, sumSquares: sumSquares[r]!, absmax: absmax[r]!, zeros: zeros[r]!, nonFinite: nonFinite[r]! };
      state = mergeMoments(state, row);
    }
    return state;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
