// What the block-streaming engine needs of one model family (GPT-2, the Llama family, Gemma, Phi, …), in two
// halves. The *declaration* (FamilyDeclaration, one per family in <family>.ts, registry declarations.ts): the
// checkpoint tensors each block reads, the embedding and head tensors, parameter counts, what a plan may not
// remove: data the config hover, arch/ and plan/ read in the extension host. The *graphs* (FamilyGraphs, one per
// family in <family>Graph.ts, registry index.ts): an ONNX graph of one block whose weights are graph inputs (so one
// session serves every block of that shape) and the head graph, which only the engine builds. Keeping them apart
// keeps graph code out of the extension host's bundle (test/unit/hostBundle.test.ts). The engine knows nothing
// family-specific.
import type { ModelSpec } from '../../arch/modelSpec';

/** One weight of a block: the graph input it feeds (`role`) and the checkpoint tensor it is read from. */
export interface BlockTensor {
  role: string;
  name: string;
  shape: number[];
}

/** A tensor that feeds one or more linear layers of a block, and those layers' weights (Wanda's X). */
export interface LinearSite {
  layer: number;
  site: 'attn' | 'attn_out' | 'mlp' | 'mlp_down';
  /** Input features: the size of the tensor's last axis. */
  width: number;
  /** Checkpoint names of the weights reading it; 'out-in' = HF Linear [out, in], 'in-out' = GPT-2 Conv1D [in, out]. */
  weights: { name: string; layout: 'out-in' | 'in-out' }[];
}

/** Names of the block graph's inputs and outputs (the same for every family). */
export const BLOCK_IO = {
  /** [batch, seq, hidden] in, the residual stream entering the block. */
  hidden: 'hidden',
  /** [heads] float: 1 keeps a query head, 0 masks it (its context is zeroed before the output projection). */
  headMask: 'head_mask',
  /** [batch, seq, hidden] out, the residual stream leaving the block (after attention, for a family with `mlp`). */
  out: 'hidden_out',
  /** [batch·seq, hidden] out, families with `mlp` only: the normed input of the block's MLP, which the engine runs. */
  mlpInput: 'mlp_input',
  /** [batch, heads, seq, seq] out, the attention probabilities. */
  attention: 'attention',
  linearInput: (site: LinearSite['site']): string => `linear_in_${site}`,
} as const;

/** Names of the head graph's inputs and outputs: final norm, one chunk of the vocabulary, log-sum-exp. */
export const HEAD_IO = {
  /** [rows, hidden] the last block's output. */
  hidden: 'hidden',
  /** [chunk, hidden] rows of the (tied or own) head matrix. */
  weight: 'head_weight',
  /** [rows] int64, index within the chunk of each row's target (clamped; callers use `picked` only where it lies in the chunk). */
  targets: 'targets',
  logits: 'logits',
  /** [rows] log Σ exp over the chunk's logits. */
  lse: 'lse',
  /** [rows] the logit at `targets`. */
  picked: 'picked',
} as const;

/**
 * A model's parameters as its family counts them from the spec: one block's attention, MLP and norms, and what lies
 * outside the blocks. The config hover (src/config/derived.ts), the plans and the engine all read this one count.
 */
export interface FamilyParameters {
  attention: number;
  mlp: number;
  norms: number;
  /** Token embeddings (and learned positions where the family has them). */
  embeddings: number;
  /** 0 when the head is tied to the embeddings. */
  lmHead: number;
  /** Final norm. */
  other: number;
}

/** What a family is without its graphs (see the file header): read by the hover, arch/, plan/ and the engine. */
export interface FamilyDeclaration<S extends ModelSpec = ModelSpec> {
  /** The tensors block `layer` reads, in a fixed order of roles (the same roles for every block). */
  blockTensors(spec: S, layer: number, has: (name: string) => boolean): BlockTensor[];
  /**
   * For families whose blocks differ in computation though not in weights (Gemma 2/3: sliding-window and global
   * attention, each with its own RoPE): which graph block `layer` runs. The engine keeps one session per variant.
   * Absent: one graph serves every block.
   */
  blockVariant?(spec: S, layer: number): string;
  /** Factor the gathered embedding rows are multiplied by (Gemma: √hidden), given the table's checkpoint dtype. */
  embeddingScale?(spec: S, dtype: string): number;
  /** The longest window of tokens a forward pass takes (default: max_position_embeddings, stretched by dynamic NTK
   * scaling, capped to a sliding window where the spec has one). */
  contextLength?(spec: S): number;
  /** Token embedding [vocab, hidden] and, for learned positions, the position table [positions, hidden]. */
  embedding(spec: S, has: (name: string) => boolean): { tokens: string; positions?: string };
  /** Final-norm tensors, fed to the head graph under their roles. */
  finalNorm(spec: S, has: (name: string) => boolean): BlockTensor[];
  /** The [vocab, hidden] matrix of the LM head (the embedding when tied). */
  head(spec: S, has: (name: string) => boolean): string;
  /** The linear-layer inputs of block `layer` that the block graph can output. */
  linearSites(spec: S, layer: number, has: (name: string) => boolean): LinearSite[];
  /** Parameters of block `layer` (default 0; the same for every block of a family without `mlp`). */
  blockParameters(spec: S, layer?: number): number;
  /** The whole count, split as the config hover shows it (families that have one; blockParameters is its block). */
  parameters?(spec: S): FamilyParameters;
  /** Why a plan may not drop this family's attention heads, where it may not (plan/heads.ts refuses with it). */
  headPruningRefused?: string;
  /**
   * Families whose MLP runs outside the block graph (Mixture of Experts, engine/moeRunner.ts): block `layer`'s MLP
   * tensors. The block graph then ends after attention (BLOCK_IO.out, BLOCK_IO.mlpInput).
   */
  mlp?(spec: S, layer: number): BlockMlp;
}

/** A family's ONNX graphs (see the file header): only the engine builds them. */
export interface FamilyGraphs<S extends ModelSpec = ModelSpec> {
  /**
   * One block as an ONNX model: inputs BLOCK_IO.hidden, BLOCK_IO.headMask and every role; outputs per BLOCK_IO.
   * `variant`: blockVariant's answer for the blocks this graph serves.
   */
  buildBlock(spec: S, roles: readonly BlockTensor[], variant?: string): Uint8Array;
  /** Final norm + one vocabulary chunk: inputs HEAD_IO.hidden/weight/targets and the final-norm roles. */
  buildHead(spec: S, norm: readonly BlockTensor[]): Uint8Array;
}

/** A whole family as the engine runs it. */
export type Family<S extends ModelSpec = ModelSpec> = FamilyDeclaration<S> & FamilyGraphs<S>;

/** A gated MLP down(silu(gate·x) ⊙ up·x): checkpoint names of its [out, in] weights. */
export interface MlpTensors {
  gate: string;
  up: string;
  down: string;
  intermediate: number;
}

/**
 * A block's MLP as the engine runs it outside the block graph: dense, or a router [experts, hidden] whose softmax
 * picks topK experts per token (weights divided by their sum when normTopK), plus an always-on shared expert scaled
 * by sigmoid(gate·x) (Qwen2-MoE).
 */
export type BlockMlp =
  | { kind: 'dense'; mlp: MlpTensors }
  | { kind: 'sparse'; router: string; experts: MlpTensors[]; topK: number; normTopK: boolean; shared?: { mlp: MlpTensors; gate: string } };
