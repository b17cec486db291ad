// Qwen3's graphs (qwen3.ts declares the family): the Llama block (llamaGraph.ts) with per-head q/k RMSNorm before
// RoPE, and Llama's head.
import { buildGatedBlock, buildLlamaHead, llamaRope } from './llamaGraph';
import { QK_NORM, type Qwen3Spec } from './qwen3';
import type { FamilyGraphs } from './types';

export const qwen3Graph: FamilyGraphs<Qwen3Spec> = {
  buildBlock: (spec, roles) => buildGatedBlock(spec, roles, { ...QK_NORM, rope: llamaRope(spec) }),
  buildHead: buildLlamaHead,
};
