// GPT-2's declaration (its graphs: gpt2Graph.ts), following transformers' modeling_gpt2: learned positions (added
// to the gathered token rows by the engine), pre-LayerNorm blocks, fused c_attn, Conv1D weights stored [in, out],
// head tied to wte.
import type { Gpt2Spec } from '../../arch/modelSpec';
import type { BlockTensor, FamilyDeclaration } from './types';

/** HF GPT-2 checkpoints name tensors with or without the "transformer." prefix (GPT2Model vs GPT2LMHeadModel). */
const prefixOf = (has: (name: string) => boolean) => (has('transformer.wte.weight') ? 'transformer.' : '');

export const gpt2: FamilyDeclaration<Gpt2Spec> = {
  blockTensors(spec, layer, has) {
    const { hidden, intermediate } = spec;
    const p = `${prefixOf(has)}h.${layer}.`;
    const t = (role: string, name: string, shape: number[]): BlockTensor => ({ role, name: p + name, shape });
    return [
      t('ln1_w', 'ln_1.weight', [hidden]), t('ln1_b', 'ln_1.bias', [hidden]),
      t('qkv', 'attn.c_attn.weight', [hidden, 3 * hidden]), t('qkv_b', 'attn.c_attn.bias', [3 * hidden]),
      t('proj', 'attn.c_proj.weight', [hidden, hidden]), t('proj_b', 'attn.c_proj.bias', [hidden]),
      t('ln2_w', 'ln_2.weight', [hidden]), t('ln2_b', 'ln_2.bias', [hidden]),
      t('fc', 'mlp.c_fc.weight', [hidden, intermediate]), t('fc_b', 'mlp.c_fc.bias', [intermediate]),
      t('out', 'mlp.c_proj.weight', [intermediate, hidden]), t('out_b', 'mlp.c_proj.bias', [hidden]),
    ];
  },

  embedding: (_, has) => ({ tokens: `${prefixOf(has)}wte.weight`, positions: `${prefixOf(has)}wpe.weight` }),
  finalNorm: (spec, has) => [
    { role: 'final_w', name: `${prefixOf(has)}ln_f.weight`, shape: [spec.hidden] },
    { role: 'final_b', name: `${prefixOf(has)}ln_f.bias`, shape: [spec.hidden] },
  ],
  head: (_, has) => `${prefixOf(has)}wte.weight`,

  linearSites(spec, layer, has) {
    const w = (name: string) => [{ name: `${prefixOf(has)}h.${layer}.${name}.weight`, layout: 'in-out' as const }];
    return [
      { layer, site: 'attn', width: spec.hidden, weights: w('attn.c_attn') },
      { layer, site: 'attn_out', width: spec.hidden, weights: w('attn.c_proj') },
      { layer, site: 'mlp', width: spec.hidden, weights: w('mlp.c_fc') },
      { layer, site: 'mlp_down', width: spec.intermediate, weights: w('mlp.c_proj') },
    ];
  },

  blockParameters: (s) => 4 * s.hidden * s.hidden + 4 * s.hidden + 2 * s.hidden * s.intermediate + s.intermediate + s.hidden + 4 * s.hidden,
};
