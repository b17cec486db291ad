// Reading config.json numbers for a family's spec: a missing key takes the family config class's default, a present
// one must be of the right kind, and a bad value is an InputError that names the key and the file. Shared by the
// family files that parse their own config (phi3, gpt_neox, olmo2), so each states only its keys and defaults.
import { InputError } from '../../errors';

export interface ConfigFields {
  /** A positive integer; `fallback` when the key is absent or null (then required when there is none). */
  int(key: string, fallback?: number): number;
  /** A positive finite number, likewise. */
  num(key: string, fallback?: number): number;
  /** true / false; `fallback` when absent or null. */
  bool(key: string, fallback: boolean): boolean;
  /** The key's value when present and not null. */
  has(key: string): boolean;
  /**
   * The RoPE settings object: rope_scaling (transformers 4.x) or rope_parameters (transformers 5, which also holds
   * rope_theta and partial_rotary_factor); undefined when neither is given.
   */
  rope(): Record<string, unknown> | undefined;
  /**
   * The attention's shape, the one reading of it for every family: num_attention_heads, num_key_value_heads
   * (default: as many as heads) and head_dim (default: `headDimDefault`, else hidden_size / heads, which must divide),
   * refused where the KV heads do not group the query heads evenly.
   */
  attentionShape(hidden: number, headDimDefault?: number): { heads: number; kvHeads: number; headDim: number };
}

export function configFields(config: Record<string, unknown>, where: string): ConfigFields {
  const given = (key: string) => config[key] !== undefined && config[key] !== null;
  const read = (key: string, fallback: number | undefined, ok: (v: number) => boolean, what: string): number => {
    const value = given(key) ? config[key] : fallback;
    if (typeof value !== 'number' || !ok(value)) throw new InputError(`${where}: "${key}" must be ${what} for a forward pass (found ${JSON.stringify(config[key] ?? null)})`);
    return value;
  };
  const int = (key: string, fallback?: number) => read(key, fallback, (v) => Number.isSafeInteger(v) && v > 0, 'a positive integer');
  return {
    int,
    num: (key, fallback) => read(key, fallback, (v) => Number.isFinite(v) && v > 0, 'a positive number'),
    bool(key, fallback) {
      if (!given(key)) return fallback;
      if (typeof config[key] !== 'boolean') throw new InputError(`${where}: "${key}" must be true or false (found ${JSON.stringify(config[key])})`);
      return config[key] as boolean;
    },
    has: given,
    rope() {
      const key = given('rope_scaling') ? 'rope_scaling' : 'rope_parameters';
      const value = config[key];
      if (value === undefined || value === null) return undefined;
      if (typeof value !== 'object' || Array.isArray(value)) throw new InputError(`${where}: ${key} must be an object (found ${JSON.stringify(value)})`);
      return value as Record<string, unknown>;
    },
    attentionShape(hidden, headDimDefault) {
      const heads = int('num_attention_heads');
      const kvHeads = int('num_key_value_heads', heads);
      const headDim = given('head_dim') || headDimDefault !== undefined ? int('head_dim', headDimDefault) : hidden / heads;
      if (!Number.isInteger(headDim)) throw new InputError(`${where}: hidden_size ${hidden} is not divisible by num_attention_heads ${heads}; give head_dim`);
      if (heads % kvHeads !== 0) throw new InputError(`${where}: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
      return { heads, kvHeads, headDim };
    },
  };
}

/**
 * What a Llama-style graph (Llama, Mistral, Qwen2, Qwen3, the MoE families) cannot honour, refused naming `family`:
 * transformers' rope init reads partial_rotary_factor for any config, but these graphs rotate the whole head; and
 * their MLPs are SwiGLU (silu).
 */
export function refuseUnlikeLlama(config: Record<string, unknown>, where: string, family: string): void {
  const partial = config.partial_rotary_factor;
  if (partial !== undefined && partial !== null && partial !== 1) {
    throw new InputError(`${where}: partial_rotary_factor ${JSON.stringify(partial)} is not supported for ${family} (its graph rotates the whole head)`);
  }
  const activation = config.hidden_act ?? 'silu';
  if (activation !== 'silu') throw new InputError(`${where}: hidden_act "${String(activation)}" is not supported for ${family} (its graph uses silu)`);
}
