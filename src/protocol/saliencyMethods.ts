// The token-saliency methods: the one list the CLI (--method), the analysis, the editor's method picker and the
// panel read their names and descriptions from. A new method is one row here and its computation in
// src/analyses/saliency.ts.
import type { SaliencyMethod } from './results';

export interface SaliencyMethodInfo {
  /** As the panel names it. */
  name: string;
  /** The picker's label and one-line description, and its detail line. */
  label: string;
  description: string;
  detail: string;
  /** Needs the block engine's backward graphs (a Hugging Face directory, not an exported .onnx decoder). */
  gradient: boolean;
}

export const SALIENCY_METHOD_INFO: Record<SaliencyMethod, SaliencyMethodInfo> = {
  occlusion: { name: 'occlusion', label: 'Occlusion', description: 'leave each token out', detail: 'Δ log-probability of the target when the token is removed; deterministic', gradient: false },
  reagent: { name: 'ReAGent', label: 'ReAGent', description: 'random replacement over seeds', detail: 'Mean drop of log p(target) when the token is replaced by random tokens; mean ± sd over seeds (importanceLens.seeds)', gradient: false },
  attention: { name: 'attention rollout', label: 'Attention rollout', description: 'attention flow to the target', detail: 'Head-averaged attention multiplied through the blocks; deterministic', gradient: false },
  ig: { name: 'integrated gradients', label: 'Integrated gradients', description: 'gradients from a zero embedding to the token', detail: 'Σ over the embedding of token × the mean gradient of log p(target) along the path from zero (20 steps); deterministic', gradient: true },
  'grad-input': { name: 'gradient × input', label: 'Gradient × input', description: 'one backward pass', detail: 'Σ over the embedding of token × gradient of log p(target); deterministic', gradient: true },
  grad: { name: 'gradient norm', label: 'Gradient norm', description: 'plain saliency', detail: 'L2 norm of the gradient of log p(target) with respect to the token’s embedding (≥ 0); deterministic', gradient: true },
};

export const SALIENCY_METHODS = Object.keys(SALIENCY_METHOD_INFO) as SaliencyMethod[];

/** Integrated gradients' default number of steps (Gauss–Legendre nodes on the path). */
export const DEFAULT_IG_STEPS = 20;

/**
 * ReAGent's replacement masks (every seed's, in one list) are scored in steps of this many forward rows, each one
 * batched engine pass (one sweep of the weights) where memory holds that many rows.
 */
export const REAGENT_STEP_MASKS = 64;

/**
 * ReAGent's default cost bound, in steps (`--max-steps`): 16 × 64 = 1 024 forward rows of the text, four times
 * occlusion's work on a 256-token text. Beyond it, each seed keeps the first masks of its own sequence.
 */
export const DEFAULT_REAGENT_MAX_STEPS = 16;
