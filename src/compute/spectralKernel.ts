// Power iteration for ‖W‖₂ through onnxruntime: the two matrix-vector products per step run in ORT's MLAS
// kernels (SIMD, multi-threaded), several times faster than a JavaScript loop over a 4096² matrix
// (docs/benchmarks.md). Same algorithm, start vector, bound and tolerance as spectral.ts, whose loop remains the
// reference and the fallback.
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { GraphBuilder, value } from './onnxGraph';
import { createSession, onnxruntime, type ProviderName } from './session';
import { POWER_ITERATIONS, POWER_TOLERANCE, startVector, type SpectralEstimate } from './spectral';

/** Steps per session run: enough to amortise the call, few enough not to overshoot convergence by much. */
const STEPS_PER_RUN = 4;

/** One run: v [cols, 1] unit -> for each step, σ estimate ‖W v‖ and the next unit v = Wᵀ W v / ‖·‖. */
export function powerStepsModel(): Uint8Array {
  const g = new GraphBuilder();
  let v = 'v';
  const sigmas: string[] = [];
  for (let step = 0; step < STEPS_PER_RUN; step++) {
    const u = g.op('MatMul', ['w', v]); // [rows, 1]
    sigmas.push(g.op('ReduceL2', [u], { keepdims: 0 }));
    const z = g.op('MatMul', [g.op('Transpose', [u], { perm: [1, 0] }), 'w']); // uᵀW = (Wᵀu)ᵀ, [1, cols]
    const norm = g.op('Max', [g.op('ReduceL2', [z], { keepdims: 0 }), g.constant('float', [1e-30])]);
    v = g.op('Transpose', [g.op('Div', [z, norm])], { perm: [1, 0] });
  }
  g.op('Concat', sigmas.map((s) => g.op('Unsqueeze', [s, g.constant('int64', [0], [1])])), { axis: 0 }, 'sigmas');
  g.op('Identity', [v], {}, 'v_next');
  return g.model('power_steps', [value('w', 'float', ['rows', 'cols']), value('v', 'float', ['cols', 1])], [value('sigmas', 'float', [STEPS_PER_RUN]), value('v_next', 'float', ['cols', 1])]);
}

export class SpectralKernel {
  private constructor(private readonly session: InferenceSession) {}

  static async create(provider: ProviderName): Promise<SpectralKernel> {
    return new SpectralKernel(await createSession(powerStepsModel(), provider));
  }

  async stableRank(values: Float32Array, rows: number, cols: number, frobeniusSquared: number): Promise<SpectralEstimate | null> {
    if (rows === 0 || cols === 0 || frobeniusSquared === 0) return null;
    const { Tensor: OrtTensor } = onnxruntime();
    const w = new OrtTensor('float32', values, [rows, cols]);
    let v: Tensor = new OrtTensor('float32', Float32Array.from(startVector(cols)), [cols, 1]);
    let sigma = 0;
    let iterations = 0;
    while (iterations < POWER_ITERATIONS) {
      const out = await this.session.run({ w, v });
      const sigmas = out.sigmas!.data as Float32Array;
      v = out.v_next!;
      let settled = false;
      for (const next of sigmas) {
        iterations++;
        settled = Math.abs(next - sigma) <= POWER_TOLERANCE * next;
        sigma = next;
        if (settled || iterations === POWER_ITERATIONS) break;
      }
      if (settled) break;
    }
    if (sigma === 0) return null;
    return { sigmaMax: sigma, stableRank: frobeniusSquared / (sigma * sigma), iterations };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
