// The product WᵀW·v of the Lanczos iteration (spectral.ts) through onnxruntime: the two matrix-vector products run
// in ORT's MLAS kernels (SIMD, multi-threaded), several times faster than a JavaScript loop over a 4096² matrix
// (docs/benchmarks.md). The recurrence, start vector, stopping bound and reported bound are spectral.ts's, whose
// loop remains the reference and the fallback.
import type { InferenceSession } from 'onnxruntime-node';
import { throwIfAborted } from '../errors';
import { GraphBuilder, value } from './onnxGraph';
import { createSession, onnxruntime, type ProviderName } from './session';
import { lanczosStableRank, type SpectralEstimate } from './spectral';

/** z [1, cols] = (Wᵀ (W v))ᵀ for v [cols, 1]. */
export function gramModel(): Uint8Array {
  const g = new GraphBuilder();
  const u = g.op('MatMul', ['w', 'v']); // [rows, 1]
  g.op('MatMul', [g.op('Transpose', [u], { perm: [1, 0] }), 'w'], {}, 'z'); // uᵀW = (Wᵀu)ᵀ, [1, cols]
  return g.model('gram_product', [value('w', 'float', ['rows', 'cols']), value('v', 'float', ['cols', 1])], [value('z', 'float', [1, 'cols'])]);
}

export class SpectralKernel {
  private constructor(private readonly session: InferenceSession) {}

  static async create(provider: ProviderName): Promise<SpectralKernel> {
    return new SpectralKernel(await createSession(gramModel(), provider));
  }

  /** `signal` is checked before every pass over W (a pass is at most a few hundred ms), so cancel is prompt. */
  async stableRank(values: Float32Array, rows: number, cols: number, frobeniusSquared: number, tolerance?: number, signal?: AbortSignal): Promise<SpectralEstimate | null> {
    if (rows === 0 || cols === 0 || frobeniusSquared === 0) return null;
    const { Tensor: OrtTensor } = onnxruntime();
    const w = new OrtTensor('float32', values, [rows, cols]);
    const v32 = new Float32Array(cols);
    const v = new OrtTensor('float32', v32, [cols, 1]);
    return lanczosStableRank(async (q) => {
      throwIfAborted(signal);
      v32.set(q);
      const out = await this.session.run({ w, v });
      return Float64Array.from(out.z!.data as Float32Array);
    }, cols, frobeniusSquared, undefined, tolerance);
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
