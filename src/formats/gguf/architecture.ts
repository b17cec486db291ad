// The architecture numbers a GGUF file declares about itself, under llama.cpp's key names ("{arch}.block_count"
// and so on, where {arch} is general.architecture). A value that is missing stays null so that the caller can
// fill it from the tensors; one that is present but unusable is left out with a warning rather than guessed.
import type { CheckpointHeader } from '../types';
import type { GgufScalar, GgufValue, GgufValueType } from './metadata';

export type DeclaredArchitecture = NonNullable<CheckpointHeader['architecture']>;

export function architectureFromMetadata(
  values: ReadonlyMap<string, GgufValue>,
  path: string,
  warnings: string[],
): DeclaredArchitecture | undefined {
  const declared = values.get('general.architecture');
  if (declared?.kind !== 'scalar' || declared.type !== 'string' || declared.value === '') return undefined;
  const family = String(declared.value);
  const number = (suffix: string): number | null | undefined => integerOf(values, `${family}.${suffix}`, path, warnings);

  const heads = number('attention.head_count') ?? null;
  // llama.cpp reads a missing head_count_kv as "same as head_count" (no grouped-query attention).
  const kvHeads = number('attention.head_count_kv');
  const tokens = values.get('tokenizer.ggml.tokens');
  const vocab = tokens?.kind === 'array' ? tokens.length : (number('vocab_size') ?? null);
  return {
    family,
    layers: number('block_count') ?? null,
    hidden: number('embedding_length') ?? null,
    heads,
    kvHeads: kvHeads === undefined ? heads : kvHeads,
    intermediate: number('feed_forward_length') ?? null,
    vocab,
    experts: number('expert_count') ?? null,
  };
}

/**
 * undefined: the key is absent. null: present but not one non-negative integer (a warning says why). Per-layer
 * arrays (OpenELM's head counts, hybrid models' feed-forward lengths) count when every layer has the same value.
 */
function integerOf(values: ReadonlyMap<string, GgufValue>, key: string, path: string, warnings: string[]): number | null | undefined {
  const value = values.get(key);
  if (value === undefined) return undefined;
  if (value.kind === 'scalar') {
    const n = asCount(value.value, value.type);
    if (n === null) warnings.push(`${path}: ${key} is ${String(value.value)}, not a count; it is left out of the architecture summary`);
    return n;
  }
  const counts = value.items?.map((item) => (item.kind === 'scalar' ? asCount(item.value, item.type) : null)) ?? [];
  const numbers = counts.filter((n): n is number => n !== null);
  if (numbers.length === 0 || numbers.length !== counts.length) {
    warnings.push(`${path}: ${key} is an array of ${value.length} ${value.elementType} that is not a list of counts; it is left out of the architecture summary`);
    return null;
  }
  const distinct = [...new Set(numbers)];
  if (distinct.length === 1) return distinct[0]!;
  warnings.push(`${path}: ${key} varies per layer (${Math.min(...numbers)} to ${Math.max(...numbers)}); it is left out of the architecture summary`);
  return null;
}

function asCount(value: GgufScalar, type: GgufValueType): number | null {
  if (type === 'float32' || type === 'float64' || type === 'bool' || type === 'string') return null;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}
