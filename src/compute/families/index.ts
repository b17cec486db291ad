// The registry of model families the block engine runs: ModelSpec.kind -> Family. A new family (Gemma, Phi, …)
// is one file beside these and one row here.
import type { ModelSpec } from '../../arch/modelSpec';
import { gpt2 } from './gpt2';
import { llama } from './llama';
import { moe } from './moe';
import type { Family } from './types';

const FAMILIES: { [K in ModelSpec['kind']]: Family<Extract<ModelSpec, { kind: K }>> } = { llama, gpt2, moe };

export function familyOf(spec: ModelSpec): Family {
  return FAMILIES[spec.kind] as Family;
}
