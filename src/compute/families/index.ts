// The registry of model families the block engine runs: ModelSpec.kind -> Family. A new family (Gemma, Phi, …)
// is one file beside these and one row here.
import type { ModelSpec } from '../../arch/modelSpec';
import { gemma } from './gemma';
import { gemma2 } from './gemma2';
import { gemma3 } from './gemma3';
import { gpt2 } from './gpt2';
import { gptNeox } from './gptNeox';
import { llama } from './llama';
import { moe } from './moe';
import { olmo2 } from './olmo2';
import { phi3 } from './phi3';
import { qwen3 } from './qwen3';
import type { Family } from './types';

const FAMILIES: { [K in ModelSpec['kind']]: Family<Extract<ModelSpec, { kind: K }>> } = {
  llama, gpt2, qwen3, gemma, gemma2, gemma3, phi3, gpt_neox: gptNeox, olmo2, moe,
};

export function familyOf(spec: ModelSpec): Family {
  return FAMILIES[spec.kind] as Family;
}
