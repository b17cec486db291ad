// The kernels `stats` runs, chosen once per analysis: the moments graph and the WᵀW·v graph (Lanczos) on the first
// provider of the user's order that starts. On an idle CPU both graphs beat the typed-array loops end to end (1 GB
// F32: 5.7–5.8 s against 6.4–6.8 s; docs/benchmarks.md). IMPORTANCE_LENS_KERNEL=js keeps everything in JavaScript
// (the loops in moments.ts and spectral.ts, which are also the reference the graphs are tested against).
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
  const graphMoments = await MomentsKernel.create(device);
  return {
    device,
    skipped: [...skipped, ...choice.skipped],
    moments: (values, count) => graphMoments.moments(values, count),
    stableRank: (values, rows, cols, frobeniusSquared) => spectral.stableRank(values, rows, cols, frobeniusSquared),
    close: async () => {
      await Promise.all([spectral.release(), graphMoments.release()]);
    },
  };
}
