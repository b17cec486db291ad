// Which kernel reduces tensor chunks to moments: the typed-array loop on the CPU (measured faster there than
// onnxruntime's CPU provider, docs/benchmarks.md), the ONNX graph on a GPU provider when the user's order reaches
// one that starts here. IMPORTANCE_LENS_KERNEL=onnx forces the graph even on the CPU (tests, benchmarks).
import { chunkMoments, type MomentState } from './moments';
import { MomentsKernel, momentsModel } from './momentsKernel';
import { chooseProvider, parseProviders, providersWorthProbing, type ProviderName } from './session';

export interface MomentsReducer {
  /** The execution provider the moments run on, as results report it. */
  device: ProviderName;
  /** Providers of the user's order that were passed over, with why. */
  skipped: string[];
  reduce(values: Float32Array, count: number): Promise<MomentState> | MomentState;
  close(): Promise<void>;
}

export async function momentsReducer(providers?: readonly string[]): Promise<MomentsReducer> {
  const order = parseProviders(providers ?? process.env.IMPORTANCE_LENS_PROVIDERS);
  const forceGraph = process.env.IMPORTANCE_LENS_KERNEL === 'onnx';
  const { worth, skipped } = providersWorthProbing(order);
  if (!forceGraph && worth.every((p) => p === 'cpu')) {
    return { device: 'cpu', skipped, reduce: chunkMoments, close: async () => undefined };
  }
  const choice = await chooseProvider(worth, momentsModel());
  const all = [...skipped, ...choice.skipped];
  if (choice.provider === 'cpu' && !forceGraph) return { device: 'cpu', skipped: all, reduce: chunkMoments, close: async () => undefined };
  const kernel = await MomentsKernel.create(choice.provider);
  return { device: choice.provider, skipped: all, reduce: (values, count) => kernel.moments(values, count), close: () => kernel.release() };
}
