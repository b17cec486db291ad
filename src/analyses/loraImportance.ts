// LoRA adapter importance per layer and module: ‖ΔW‖_F = ‖B·A‖_F · scale (PEFT's alpha/r, or alpha/√r with rsLoRA),
// the size of the update the adapter adds to each adapted weight.
import { tensorRole } from '../arch/names';
import { isDecodable } from '../compute/decode';
import { loraProductNorm } from '../compute/lora';
import { FileHandles, readWholeTensor } from '../compute/tensorStream';
import { throwIfAborted } from '../errors';
import type { TensorInfo } from '../formats/types';
import type { LoraModuleImportance } from '../protocol/results';

/** LoRA factors are small (r × in, out × r); refuse absurd ones rather than allocate them. */
const MAX_FACTOR_ELEMENTS = 1 << 26;

export async function loraImportance(tensors: readonly TensorInfo[], scale: number | null, handles: FileHandles, warnings: string[], signal?: AbortSignal): Promise<LoraModuleImportance[]> {
  const pairs = new Map<string, { a?: TensorInfo; b?: TensorInfo }>();
  for (const t of tensors) {
    const match = /^(.*)\.lora_([AB])(?:\.[^.]+)?\.weight$/.exec(t.name);
    if (!match) continue;
    const pair = pairs.get(match[1]!) ?? {};
    pair[match[2] === 'A' ? 'a' : 'b'] = t;
    pairs.set(match[1]!, pair);
  }
  const results: LoraModuleImportance[] = [];
  for (const [prefix, { a, b }] of pairs) {
    throwIfAborted(signal);
    if (!a || !b) {
      warnings.push(`LoRA module ${prefix} has only lora_${a ? 'A' : 'B'}; it is left out of the adapter importance`);
      continue;
    }
    const r = a.shape[0]!;
    if (a.shape.length !== 2 || b.shape.length !== 2 || b.shape[1] !== r || !isDecodable(a.dtype) || !isDecodable(b.dtype) || a.count > MAX_FACTOR_ELEMENTS || b.count > MAX_FACTOR_ELEMENTS) {
      warnings.push(`LoRA module ${prefix}: A ${a.dtype}[${a.shape}] and B ${b.dtype}[${b.shape}] do not form a rank-r pair this version reads; left out`);
      continue;
    }
    const product = loraProductNorm(await readWholeTensor(a, handles, signal), await readWholeTensor(b, handles, signal), r);
    results.push({ name: prefix, ...tensorRole(`${prefix}.weight`), rank: r, productNorm: product, deltaNorm: scale === null ? null : product * scale });
  }
  return results;
}
