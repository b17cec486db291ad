// The registry of model families as declared (ModelSpec.kind -> FamilyDeclaration: tensors, parameter counts, what
// a plan may not remove), without their graphs: what the config hover, arch/ and plan/ read, so the extension
// host's bundle carries no graph code. The engine's registry (index.ts) adds each family's graphs. A new family is
// a declaration file and a graph file beside these and one row here and in index.ts.
import type { ModelSpec } from '../../arch/modelSpec';
import { gemma } from './gemma';
import { gemma2 } from './gemma2';
import { gemma3 } from './gemma3';
import { gpt2 } from './gpt2';
import { gptNeox } from './gptNeox';
import { llama } from './llama';
import { moe } from './moeSpec';
import { olmo2 } from './olmo2';
import { phi3 } from './phi3';
import { qwen3 } from './qwen3';
import type { FamilyDeclaration } from './types';

export type Declarations = { [K in ModelSpec['kind']]: FamilyDeclaration<Extract<ModelSpec, { kind: K }>> };

export const DECLARATIONS: Declarations = {
  llama, gpt2, qwen3, gemma, gemma2, gemma3, phi3, gpt_neox: gptNeox, olmo2, moe,
};

export function declarationOf(spec: ModelSpec): FamilyDeclaration {
  return DECLARATIONS[spec.kind] as FamilyDeclaration;
}
