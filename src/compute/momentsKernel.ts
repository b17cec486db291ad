// The per-chunk moments of moments.ts as an ONNX graph, for execution providers other than the CPU (on the CPU the
// typed-array loop is faster: docs/benchmarks.md). Same definitions: NaN/±Inf are counted and left out, zeros are
// counted, and the central moments are taken about the chunk's own mean so that Pébay's merge stays stable.
// ORT reduces in float32 (WebGPU has no float64); chunk sums of ≤ 2^20 elements keep ≤ 1e-6 relative error.
import type { InferenceSession } from 'onnxruntime-node';
import { emptyMoments, type MomentState } from './moments';
import { constant, modelBytes, node, value } from './onnxGraph';
import { createSession, onnxruntime, type ProviderName } from './session';

const OUTPUTS = ['finite_count', 'non_finite', 'zeros', 'sum_squares', 'absmax', 'mean', 'm2', 'm3', 'm4'] as const;

export function momentsModel(): Uint8Array {
  const scalar = (name: string) => value(name, 'float', []);
  const reduceAll = { keepdims: 0 };
  return modelBytes({
    name: 'chunk_moments',
    inputs: [value('x', 'float', ['n'])],
    outputs: OUTPUTS.map(scalar),
    initializers: [constant('zero', 'float', [], [0]), constant('one', 'float', [], [1])],
    nodes: [
      node('IsNaN', ['x'], ['nan']),
      node('IsInf', ['x'], ['inf']),
      node('Or', ['nan', 'inf'], ['bad']),
      node('Where', ['bad', 'zero', 'x'], ['clean']),
      node('Cast', ['bad'], ['bad_f'], { to: 1 }),
      node('ReduceSum', ['bad_f'], ['non_finite'], reduceAll),
      node('Size', ['x'], ['size_i']),
      node('Cast', ['size_i'], ['size'], { to: 1 }),
      node('Sub', ['size', 'non_finite'], ['finite_count']),
      node('Equal', ['x', 'zero'], ['is_zero']),
      node('Cast', ['is_zero'], ['is_zero_f'], { to: 1 }),
      node('ReduceSum', ['is_zero_f'], ['zeros'], reduceAll),
      node('Mul', ['clean', 'clean'], ['squares']),
      node('ReduceSum', ['squares'], ['sum_squares'], reduceAll),
      node('Abs', ['clean'], ['abs']),
      node('ReduceMax', ['abs'], ['absmax'], reduceAll),
      node('ReduceSum', ['clean'], ['sum'], reduceAll),
      node('Max', ['finite_count', 'one'], ['divisor']),
      node('Div', ['sum', 'divisor'], ['mean']),
      node('Sub', ['clean', 'mean'], ['centred']),
      node('Where', ['bad', 'zero', 'centred'], ['d']),
      node('Mul', ['d', 'd'], ['d2']),
      node('ReduceSum', ['d2'], ['m2'], reduceAll),
      node('Mul', ['d2', 'd'], ['d3']),
      node('ReduceSum', ['d3'], ['m3'], reduceAll),
      node('Mul', ['d2', 'd2'], ['d4']),
      node('ReduceSum', ['d4'], ['m4'], reduceAll),
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
    const { Tensor } = onnxruntime();
    const out = await this.session.run({ x: new Tensor('float32', values.subarray(0, count), [count]) });
    const get = (name: (typeof OUTPUTS)[number]) => Number((out[name]!.data as Float32Array)[0]);
    const n = get('finite_count');
    const nonFinite = get('non_finite');
    if (n === 0) return { ...emptyMoments(), nonFinite };
    return { n, mean: get('mean'), m2: get('m2'), m3: get('m3'), m4: get('m4'), sumSquares: get('sum_squares'), absmax: get('absmax'), zeros: get('zeros'), nonFinite };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
