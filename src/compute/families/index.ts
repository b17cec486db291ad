// The registry of model families the block engine runs: ModelSpec.kind -> Family, each family's declaration
// (declarations.ts) with its graphs (<family>Graph.ts). Only the engine imports this file; everything else reads
// declarations.ts, which carries no graph code.
import type { ModelSpec } from '../../arch/modelSpec';
import { DECLARATIONS } from './declarations';
import { gemma2Graph } from './gemma2Graph';
import { gemma3Graph } from './gemma3Graph';
import { gemmaGraph } from './gemmaGraph';
import { gpt2Graph } from './gpt2Graph';
import { gptNeoxGraph } from './gptNeoxGraph';
import { llamaGraph } from './llamaGraph';
import { moeGraph } from './moeGraph';
import { olmo2Graph } from './olmo2Graph';
import { phi3Graph } from './phi3Graph';
import { qwen3Graph } from './qwen3Graph';
import type { Family, FamilyGraphs } from './types';

const GRAPHS: { [K in ModelSpec['kind']]: FamilyGraphs<Extract<ModelSpec, { kind: K }>> } = {
  llama: llamaGraph, gpt2: gpt2Graph, qwen3: qwen3Graph, gemma: gemmaGraph, gemma2: gemma2Graph, gemma3: gemma3Graph,
  phi3: phi3Graph, gpt_neox: gptNeoxGraph, olmo2: olmo2Graph, moe: moeGraph,
};

export function familyOf(spec: ModelSpec): Family {
  return { ...DECLARATIONS[spec.kind], ...GRAPHS[spec.kind] } as Family;
}
