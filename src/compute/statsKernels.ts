// The kernels `stats` runs, chosen once per analysis: the moments pass in the WebAssembly SIMD kernel
// (simdMoments.ts: several times the moments graph and the typed-array loop, docs/benchmarks.md), and the WᵀW·v
// product of stable rank (Lanczos) in WebAssembly on the CPU (gramKernel.ts), or as a graph on the first GPU
// provider of the user's order that starts.
// IMPORTANCE_LENS_KERNEL=onnx runs the moments as a graph too (as before; a GPU provider runs it there);
// IMPORTANCE_LENS_KERNEL=js keeps everything in JavaScript (the loops in moments.ts and spectral.ts, which are also
// the reference the other kernels are tested against).
// threadKernels() is the subset a stats thread (statsThread.ts) builds: SIMD moments and the WebAssembly product,
// the very kernels of the main thread's default run, so a tensor's numbers are the same on any thread.
import { chunkMoments, type MomentState } from './moments';
import { MomentsKernel, momentsModel } from './momentsKernel';
import { chooseProvider, parseProviders, providersWorthProbing, type ProviderName } from './session';
import { stableRank, type SpectralEstimate } from './spectral';
import { GramKernel, widenBf16, type GramElement, type GramMatrix } from './gramKernel';
import { SimdMoments } from './simdMoments';
import { SpectralKernel } from './spectralKernel';

export interface StatsKernels {
  /** The execution provider the numbers ran on, as results report it. */
  device: ProviderName;
  /** Providers of the user's order that were passed over, with why. */
  skipped: string[];
  /** The SIMD moments kernel, which reads tensors itself (momentsPass.ts); absent: moments() per decoded chunk. */
  simd?: SimdMoments;
  /**
   * Whether a tensor (with its stable-rank matrix, or null) can go to a stats thread: threadKernels() computes
   * exactly what these kernels would (SIMD moments, and the WebAssembly product for the matrix).
   */
  inThreads(matrix: { cols: number } | null): boolean;
  /**
   * Where to gather a matrix for stableRank() (in the WebAssembly product's memory when that runs it). `element`
   * BF16 asks to keep a BF16 tensor's bit patterns (half the bytes per Lanczos pass); a kernel that cannot take
   * them gives a float32 buffer, which the caller then fills with the widened values.
   */
  matrixBuffer(count: number, cols: number, element?: GramElement): GramMatrix;
  moments(values: Float32Array, count: number): Promise<MomentState> | MomentState;
  stableRank(values: GramMatrix, rows: number, cols: number, frobeniusSquared: number, signal?: AbortSignal): Promise<SpectralEstimate | null> | SpectralEstimate | null;
  close(): Promise<void>;
}

/** What a SIMD run of one tensor needs (simdTensorStats.ts). */
export type SimdKernels = Required<Pick<StatsKernels, 'simd'>> & Pick<StatsKernels, 'matrixBuffer' | 'stableRank'>;

export async function statsKernels(providers?: readonly string[]): Promise<StatsKernels> {
  const mode = process.env.IMPORTANCE_LENS_KERNEL;
  const order = parseProviders(providers ?? process.env.IMPORTANCE_LENS_PROVIDERS);
  const { worth, skipped } = providersWorthProbing(order);
  if (mode === 'js') return { device: 'cpu', skipped, inThreads: () => false, matrixBuffer: (count) => new Float32Array(count), moments: chunkMoments, stableRank: (values, rows, cols, frobeniusSquared) => stableRank(widenBf16(values), rows, cols, frobeniusSquared), close: async () => undefined };
  const choice = await chooseProvider(worth, momentsModel());
  const device = choice.provider;
  // On the CPU the one-pass WebAssembly product beats the graph's two passes (2x on a 4096² matrix, more on a
  // shared machine); the graph stays for GPU providers, for columns not a multiple of 4, and for `onnx`.
  const gram = mode !== 'onnx' && device === 'cpu' ? new GramKernel() : undefined;
  let spectral: Promise<SpectralKernel> | undefined;
  const graphSpectral = () => (spectral ??= SpectralKernel.create(device));
  const graphMoments = await MomentsKernel.create(device);
  return {
    device,
    skipped: [...skipped, ...choice.skipped],
    ...(mode === 'onnx' ? {} : { simd: new SimdMoments() }),
    inThreads: (matrix) => mode !== 'onnx' && gram !== undefined && (matrix === null || GramKernel.fits(matrix.cols)),
    matrixBuffer: (count, cols, element = 'F32') => (gram && GramKernel.fits(cols, element) ? gram.matrix(count, cols, element) : gram && GramKernel.fits(cols) ? gram.matrix(count, cols) : new Float32Array(count)),
    moments: (values, count) => graphMoments.moments(values, count),
    stableRank: async (values, rows, cols, frobeniusSquared, signal) => gram && GramKernel.fits(cols)
      ? gram.stableRank(values, rows, cols, frobeniusSquared, undefined, signal)
      : (await graphSpectral()).stableRank(widenBf16(values), rows, cols, frobeniusSquared, undefined, signal),
    close: async () => {
      await Promise.all([spectral?.then((k) => k.release()), graphMoments.release()]);
    },
  };
}

/** A stats thread's kernels: for the tensors inThreads() admits, the same arithmetic as statsKernels() on the CPU. */
export function threadKernels(): SimdKernels {
  const gram = new GramKernel();
  return {
    simd: new SimdMoments(),
    matrixBuffer: (count, cols, element = 'F32') => gram.matrix(count, cols, GramKernel.fits(cols, element) ? element : 'F32'),
    stableRank: (values, rows, cols, frobeniusSquared, signal) => gram.stableRank(values, rows, cols, frobeniusSquared, undefined, signal),
  };
}
