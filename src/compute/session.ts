// onnxruntime sessions with the user's execution-provider order (setting importanceLens.executionProviders,
// CLI env IMPORTANCE_LENS_PROVIDERS). Each provider is tried in order, and one that cannot start here (CUDA not
// installed, no GPU adapter, no Vulkan loader) is skipped with the reason remembered; `cpu` always works. The
// outcome is cached per process and provider order, so the probing cost (tens of ms) is paid once.
//
// onnxruntime-node is required lazily: only the analysis process and the CLI load it, and only when a kernel runs.
import { existsSync } from 'node:fs';
import type { InferenceSession } from 'onnxruntime-node';
import { InputError } from '../errors';

export const PROVIDERS = ['cuda', 'webgpu', 'cpu'] as const;
export type ProviderName = (typeof PROVIDERS)[number];
export const DEFAULT_PROVIDERS: readonly ProviderName[] = PROVIDERS;

type Ort = typeof import('onnxruntime-node');
let ort: Ort | undefined;

export function onnxruntime(): Ort {
  if (!ort) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ort = require('onnxruntime-node') as Ort;
    ort.env.logLevel = 'fatal'; // a provider that fails to start is reported by us, not as native log noise
  }
  return ort;
}

export interface ProviderChoice {
  provider: ProviderName;
  /** Providers tried before it, and why each was skipped. */
  skipped: string[];
}

/** Parses a provider list ("cuda,webgpu,cpu"); `cpu` is appended when missing, as the last resort. */
export function parseProviders(list: readonly string[] | string | undefined): ProviderName[] {
  const names = typeof list === 'string' ? list.split(',').map((s) => s.trim()).filter(Boolean) : [...(list ?? DEFAULT_PROVIDERS)];
  for (const name of names) {
    if (!(PROVIDERS as readonly string[]).includes(name)) throw new InputError(`unknown execution provider '${name}' (one of ${PROVIDERS.join(', ')})`);
  }
  const unique = [...new Set(names as ProviderName[])];
  return unique.includes('cpu') ? unique : [...unique, 'cpu'];
}

/** The providers of `order` that may start here (cpu always), and why the others cannot, without loading ORT. */
export function providersWorthProbing(order: readonly ProviderName[]): { worth: ProviderName[]; skipped: string[] } {
  const worth: ProviderName[] = [];
  const skipped: string[] = [];
  for (const provider of order) {
    const reason = knownUnavailable(provider);
    if (reason) skipped.push(reason);
    else worth.push(provider);
  }
  return { worth, skipped };
}

/** Why a provider cannot run on this machine before even trying it, or undefined when it may. */
function knownUnavailable(provider: ProviderName): string | undefined {
  // The npm package bundles the CPU and WebGPU providers; CUDA's libraries come only from its CUDA install.
  if (provider === 'cuda' && !cudaInstalled()) {
    return 'cuda: not installed (reinstall onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 on a machine with internet)';
  }
  // WebGPU on Linux runs on Vulkan; without the loader Dawn prints warnings and finds no adapter.
  if (provider === 'webgpu' && process.platform === 'linux' && !VULKAN_LOADERS.some((p) => existsSync(p))) {
    return 'webgpu: no Vulkan loader (install libvulkan1)';
  }
  return undefined;
}

const VULKAN_LOADERS = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/usr/lib/libvulkan.so.1'];

function cudaInstalled(): boolean {
  const dir = require.resolve('onnxruntime-node/package.json').replace(/package\.json$/, '');
  return existsSync(`${dir}bin/napi-v6/${process.platform}/${process.arch}/libonnxruntime_providers_cuda.so`);
}

const choices = new Map<string, Promise<ProviderChoice>>();

/**
 * The first provider of `order` that can run `probeModel` here. The probe is a real session on the provider, so a
 * provider that loads but has no device (WebGPU without an adapter) is skipped too.
 */
export function chooseProvider(order: readonly ProviderName[], probeModel: Uint8Array): Promise<ProviderChoice> {
  const key = order.join(',');
  let choice = choices.get(key);
  if (!choice) {
    choice = probe(order, probeModel);
    choices.set(key, choice);
  }
  return choice;
}

async function probe(order: readonly ProviderName[], model: Uint8Array): Promise<ProviderChoice> {
  const { session, provider, skipped } = await createWithFallback(model, order);
  await session.release();
  return { provider, skipped };
}

/** A session on the first provider of `order` that can run `model` here, and which that was. */
export async function createWithFallback(model: Uint8Array, order: readonly ProviderName[], tuning: SessionTuning = {}): Promise<{ session: InferenceSession; provider: ProviderName; skipped: string[] }> {
  const { worth, skipped } = providersWorthProbing(order);
  for (const provider of worth) {
    try {
      return { session: await createSession(model, provider, tuning), provider, skipped };
    } catch (error) {
      if (provider === 'cpu') throw error;
      skipped.push(`${provider}: ${(error as Error).message.split('\n')[0]!.replace(/^.*?\] /, '')}`);
    }
  }
  throw new Error('no execution provider could start (cpu is always tried last)');
}

export interface SessionTuning {
  /**
   * No memory pattern: onnxruntime then allocates each intermediate when it is produced instead of one block for the
   * whole run's plan, which lets a chunked attention's Loop reuse memory. Measured on a Qwen2.5-0.5B block at 2 048
   * tokens: peak RSS 414 MB against 555 MB, the same CPU time; turning the CPU arena off as well saved nothing more
   * and cost ~15 % CPU. For the block engine's sessions, whose runs are its largest.
   */
  lowMemory?: boolean;
}

export function createSession(model: Uint8Array, provider: ProviderName, tuning: SessionTuning = {}): Promise<InferenceSession> {
  return onnxruntime().InferenceSession.create(model, {
    executionProviders: [provider], graphOptimizationLevel: 'all',
    ...(tuning.lowMemory ? { enableMemPattern: false } : {}),
  });
}
