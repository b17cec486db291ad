// The kernels `stats` runs, chosen once per analysis. Moments: the typed-array loop on the CPU (faster there than
// onnxruntime's CPU provider), the ONNX graph on a GPU provider when the user's order reaches one that starts.
// Stable rank: the power-iteration graph on whichever provider that is (MLAS beats the loop even on the CPU).
// IMPORTANCE_LENS_KERNEL=onnx forces the moments graph on the CPU too; =js keeps everything in JavaScript.
// docs/benchmarks.md has the measurements behind these choices.
import { chunkMoments, type MomentState } from './moments';
import { MomentsKernel, momentsModel } from './momentsKernel';
import { chooseProvider, parseProviders, providersWorthProbing, type ProviderName } from './session';
import { stableRank, type SpectralEstimate } from './spectral';
import { SpectralKernel } from './spectralKernel';

export interface StatsKernels {
  /** The execution provider the numbers ran on, as results report it. */
  device: ProviderName;
  /** Providers of the user's order that were passed over, with why. */
  skipped: string[];
  moments(values: Float32Array, count: number): Promise<MomentState> | MomentState;
  stableRank(values: Float32Array, rows: number, cols: number, frobeniusSquared: number): Promise<SpectralEstimate | null> | SpectralEstimate | null;
  close(): Promise<void>;
}

export async function statsKernels(providers?: readonly string[]): Promise<StatsKernels> {
  const mode = process.env.IMPORTANCE_LENS_KERNEL;
  const order = parseProviders(providers ?? process.env.IMPORTANCE_LENS_PROVIDERS);
  const { worth, skipped } = providersWorthProbing(order);
  if (mode === 'js') return { device: 'cpu', skipped, moments: chunkMoments, stableRank, close: async () => undefined };
  const choice = await chooseProvider(worth, momentsModel());
  const device = choice.provider;
  const spectral = await SpectralKernel.create(device);
  const graphMoments = device !== 'cpu' || mode === 'onnx' ? await MomentsKernel.create(device) : undefined;
  return {
    device,
    skipped: [...skipped, ...choice.skipped],
    moments: graphMoments ? (values, count) => graphMoments.moments(values, count) : chunkMoments,
    stableRank: (values, rows, cols, frobeniusSquared) => spectral.stableRank(values, rows, cols, frobeniusSquared),
    close: async () => {
      await Promise.all([spectral.release(), graphMoments?.release()]);
    },
  };
}
