// Gemma (1)'s graphs (gemma.ts declares the family), following transformers' modeling_gemma: the Llama block
// (llamaGraph.ts) with RMSNorm applied as (1 + w) and GeGLU, and the head every Gemma shares: final (1 + w) norm
// and, for Gemma 2, final_logit_softcapping.
import type { Gemma1Spec } from './gemma';
import { buildHeadGraph } from './headGraph';
import { buildGatedBlock, llamaRope, normWith, type GatedBlockOptions } from './llamaGraph';
import type { BlockTensor, FamilyGraphs } from './types';

/** Options every Gemma block has: (1 + w) norms and GeGLU. */
export const GEMMA_BLOCK: Pick<GatedBlockOptions, 'normPlusOne' | 'activation'> = { normPlusOne: true, activation: 'gelu_tanh' };

/** The final (1 + w) norm and head of every Gemma; `finalSoftcap` is Gemma 2's final_logit_softcapping. */
export const buildGemmaHead = (spec: { hidden: number; rmsEps: number; finalSoftcap?: number }, norm: readonly BlockTensor[]) =>
  buildHeadGraph(spec.hidden, norm, (g, x) => normWith(g, x, 'final_norm', spec.rmsEps, true), spec.finalSoftcap);

export const gemmaGraph: FamilyGraphs<Gemma1Spec> = {
  buildBlock: (spec, roles) => buildGatedBlock(spec, roles, { ...GEMMA_BLOCK, rope: llamaRope(spec) }),
  buildHead: buildGemmaHead,
};
