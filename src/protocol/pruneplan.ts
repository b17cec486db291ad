// The pruning-plan document (*.pruneplan.json): what `plan` prints and writes, what `apply` reads. It is meant to be
// diffed, committed and edited by hand, so it holds the evidence (metric, scores) beside the decision (actions), and
// names layers by their index in the source checkpoint. media/pruneplan.schema.json (shipped in the .vsix) describes
// the same shape for editors; validate.ts enforces it (and more) before anything is written.

export const PLAN_KIND = 'importance-lens/pruneplan';
export const PLAN_VERSION = 1;

/** Weight-only metric for sparsity: |W|; activation metric: Wanda |W|·‖X‖₂ (per input feature, on a text). */
export type SparsityMetric = 'magnitude' | 'wanda';

export interface PlanModel {
  /** The checkpoint directory; relative paths are relative to the plan file's directory. */
  path: string;
  family: string;
  layers: number;
  parameters: number;
  /** Bytes of tensor data (all weight files' tensors, headers excluded). */
  bytes: number;
  /** sha256 over config.json and the tensor names, dtypes and shapes: apply refuses a different checkpoint. */
  fingerprint: string;
}

export interface PlanMetric {
  name: string;
  /** The text activation metrics ran on (path relative like model.path), with the token cap and its sha256. */
  text: { file: string; maxTokens: number; sha256?: string } | null;
  /**
   * One score per block, as `layers` reports them (rank 1 = most important); per KV group (`group`) for heads, per
   * expert (`group`) for experts, per MLP channel (`group`) for drop-mlp-channels (there only each block's lowest).
   */
  scores: { layer: number; group?: number; head?: number; score: number; rank: number }[];
}

export interface DropLayersAction {
  type: 'drop-layers';
  /** Block indices of the source checkpoint, ascending. */
  layers: number[];
  /** How they were chosen: the N lowest scores, the best contiguous block, or by hand. */
  selection: 'lowest-score' | 'contiguous-block' | 'manual';
}

export interface LayerSparsity {
  layer: number;
  /** Fraction of each output row's weights set to zero in this block's linear layers. */
  ratio: number;
  /** OWL: fraction of the block's scores above `threshold` × their mean (null for uniform allocation). */
  outlierRatio: number | null;
}

export interface SparsityAction {
  type: 'sparsity';
  metric: SparsityMetric;
  /** The mean ratio asked for. */
  target: number;
  allocation: { method: 'uniform' } | { method: 'owl'; lambda: number; threshold: number };
  layers: LayerSparsity[];
}

export interface DropHeadsAction {
  type: 'drop-heads';
  /** Per block (source index, as a string key): KV groups to drop, whole (all their query heads go too). */
  kvGroups: Record<string, number[]>;
  /** Per block: query heads (source index) to drop within the groups it keeps; every group keeps as many. */
  queryHeads?: Record<string, number[]>;
}

export interface DropExpertsAction {
  type: 'drop-experts';
  /** Per block: expert indices to drop. */
  experts: Record<string, number[]>;
}

export interface DropMlpChannelsAction {
  type: 'drop-mlp-channels';
  /** Per block: MLP intermediate channels to drop (gate/up rows and down_proj columns); every block drops as many. */
  channels: Record<string, number[]>;
}

export type PlanAction = DropLayersAction | SparsityAction | DropHeadsAction | DropExpertsAction | DropMlpChannelsAction;

export interface PlanAlternative {
  selection: 'contiguous-block' | 'lowest-score';
  layers: number[];
  /** Contiguous block: mean angular distance arccos(cos(h_l, h_{l+n}))/π across it (lower = more redundant). */
  angularDistance: number | null;
  scoreSum: number;
}

export interface Counts {
  before: number;
  after: number;
}

export interface PrunePlan {
  kind: typeof PLAN_KIND;
  version: typeof PLAN_VERSION;
  model: PlanModel;
  metric: PlanMetric;
  actions: PlanAction[];
  /** Other selections the user may paste into an action (the plan's own choice is in actions). */
  alternatives: PlanAlternative[];
  predicted: {
    layers: Counts;
    parameters: Counts;
    /** Weights that sparsity sets to zero (they are still stored). */
    zeroed: number;
    /** Tensor data bytes; sparsity leaves this unchanged (zeros are stored). */
    bytes: Counts;
  };
  notes: string[];
}
