// Result documents of the analyses. They cross both process boundaries (worker -> host -> webview) and are what
// the CLI prints with --json, so field names follow the CLI contract in docs/cli.md. Types only: the webview
// bundle imports this file.

export type ModuleKind =
  | 'embed' | 'attn.q' | 'attn.k' | 'attn.v' | 'attn.qkv' | 'attn.o'
  | 'mlp.gate' | 'mlp.up' | 'mlp.down' | 'norm' | 'lm_head' | 'router' | 'expert' | 'other';

export interface ArchitectureSummary {
  /** `llama`, `gpt2`, `mistral`, ... (the config's model_type), or a guess from tensor names. */
  family: string | null;
  layers: number | null;
  hidden: number | null;
  heads: number | null;
  kvHeads: number | null;
  intermediate: number | null;
  vocab: number | null;
  experts: number | null;
  /** Where the numbers came from: the config file, the checkpoint's own metadata (GGUF), or tensor names and shapes. */
  source: 'config' | 'metadata' | 'tensors';
  configPath: string | null;
}

/** A PEFT adapter's own settings (adapter_config.json). */
export interface AdapterSummary {
  configPath: string;
  peftType: string | null;
  r: number | null;
  alpha: number | null;
  /** The factor PEFT multiplies B·A by: alpha/r, or alpha/sqrt(r) with rsLoRA. */
  scale: number | null;
  targetModules: string[];
  baseModel: string | null;
  /** Adapted modules with both lora_A and lora_B tensors. */
  pairs: number;
}

export interface InspectTensor {
  name: string;
  dtype: string;
  shape: number[];
  count: number;
  layer: number | null;
  module: ModuleKind;
  file: string;
  byteOffset: number;
  byteLength: number;
  /** A graph constant (ONNX shapes, indices, mask values), not a weight: in no parameter total, in no block. */
  graphConstant?: true;
}

export interface InspectResult {
  format: string;
  path: string;
  files: string[];
  bytes: number;
  parameters: number;
  /** A mixture-of-experts GGUF file: the parameters one token uses (its expert_used_count of each block's routed experts). */
  activeParameters?: number;
  tensors: InspectTensor[];
  architecture: ArchitectureSummary;
  /** Present when PATH is a PEFT adapter (adapter_config.json next to the weights). */
  adapter: AdapterSummary | null;
  /** Per block: parameters and share of the whole model; `index` null collects tensors outside any block. */
  layers: { index: number | null; params: number; share: number }[];
  metadata: Record<string, string>;
  warnings: string[];
}

/** Weight statistics of one tensor (docs/analyses.md); numbers are null where its dtype cannot be decoded. */
export interface TensorStats {
  name: string;
  dtype: string;
  shape: number[];
  count: number;
  layer: number | null;
  module: ModuleKind;
  l2: number | null;
  mean: number | null;
  /** Population standard deviation. */
  std: number | null;
  absmax: number | null;
  /** Fraction of exact zeros. */
  zeros: number | null;
  /** Excess (Fisher) kurtosis; 0 for a normal distribution. */
  kurtosis: number | null;
  /** Fraction of elements with |x − mean| > 6σ: quantisation sensitivity. */
  outliers: number | null;
  /** ‖W‖²_F/‖W‖²_2 for 2-D weights (Lanczos on WᵀW); null otherwise, above the size cap, or when not asked for. */
  stableRank: number | null;
  /**
   * Relative accuracy of stableRank: the exact value lies in [stableRank·(1 − bound), stableRank] (the Ritz value
   * bounds ‖W‖²_2 from below, its residual from above). Null when stableRank is.
   */
  stableRankBound: number | null;
  /** NaN and ±Inf elements, left out of the other numbers. */
  nonFinite: number;
}

export interface LayerStats {
  /** Block index; null collects the tensors outside any block. */
  index: number | null;
  params: number;
  share: number;
  /** Frobenius norm over all the layer's decoded tensors. */
  l2: number;
  /** Parameter-weighted mean kurtosis and outlier fraction of the layer's tensors. */
  kurtosis: number | null;
  outliers: number | null;
}

/** One adapted module of a LoRA adapter. */
export interface LoraModuleImportance {
  /** The adapted module's name prefix in the adapter (…layers.3.self_attn.q_proj). */
  name: string;
  layer: number | null;
  /** Which kind of weight it adapts (attn.q, mlp.down, ...). */
  module: ModuleKind;
  rank: number;
  /** ‖B·A‖_F. */
  productNorm: number;
  /** ‖ΔW‖_F = ‖B·A‖_F × scale; null when adapter_config.json gives no alpha/r. */
  deltaNorm: number | null;
}

export interface StatsResult {
  path: string;
  format: string;
  /** The execution provider the moments ran on (cpu, webgpu, cuda). */
  device: string;
  /** Providers earlier in the user's order that could not start here, with why ("webgpu: no Vulkan loader ..."). */
  devicesSkipped: string[];
  parameters: number;
  tensors: TensorStats[];
  layers: LayerStats[];
  /** For PEFT LoRA adapters: the size of the update per adapted module. */
  lora: LoraModuleImportance[] | null;
  warnings: string[];
}

/** One tensor present in both checkpoints with the same shape: how far the tuned weights moved. */
export interface TensorDelta {
  name: string;
  dtype: string;
  baseDtype: string;
  shape: number[];
  count: number;
  layer: number | null;
  module: ModuleKind;
  /** ‖W_tuned − W_base‖_F. */
  deltaL2: number;
  baseL2: number;
  /** ‖Δ‖/‖W_base‖; null when the base tensor is all zeros. */
  relative: number | null;
  /** Fraction of elements whose sign flipped between base and tuned (TIES' sign conflicts, of one task vector). */
  signConflict: number;
  /** Fraction of elements that changed at all. */
  changed: number;
  /** DARE drop tolerance: largest fraction of Δ, smallest |Δ| first, droppable keeping ‖Δ_kept‖ ≥ 0.99‖Δ‖. */
  dropTolerance: number;
  nonFinite: number;
  /**
   * With a Fisher text (`delta --fisher-text`): Σ F·Δ² over the tensor, F the base's diagonal empirical Fisher on
   * the text; null for tensors the block graph does not differentiate (embeddings, final norm, head).
   */
  fisherWeighted?: number | null;
  /** fisherWeighted over the sum of every tensor's. */
  fisherShare?: number | null;
}

export interface LayerDelta {
  /** Block index; null collects the tensors outside any block. */
  index: number | null;
  params: number;
  deltaL2: number;
  baseL2: number;
  relative: number | null;
  /** Rank by deltaL2 among the blocks (1 = changed most); null for the tensors outside blocks. */
  rank: number | null;
  /** With a Fisher text: Σ F·Δ² over the layer's tensors, its share of the total, its rank among the blocks. */
  fisherWeighted?: number | null;
  fisherShare?: number | null;
  fisherRank?: number | null;
}

/** A tensor that could not be compared, and why. */
export interface DeltaMismatch {
  name: string;
  reason: 'only-in-base' | 'only-in-tuned' | 'shape' | 'undecodable';
  detail: string;
}

export interface DeltaResult {
  base: string;
  tuned: string;
  device: string;
  /** Compared tensors, in the tuned checkpoint's order. */
  tensors: TensorDelta[];
  layers: LayerDelta[];
  mismatched: DeltaMismatch[];
  totals: { compared: number; deltaL2: number; baseL2: number; relative: number | null };
  /** With a Fisher text: the model the Fisher was taken on (the base), the text, tokens predicted, Σ F·Δ² in all. */
  fisher?: { model: string; text: TextUsage; predicted: number; device: string; total: number };
  warnings: string[];
}

export interface LayersResult {
  metric: string;
  device: string;
  /** Block-engine runs: the provider each part ran on (blocks, LM head). */
  devices?: { blocks: string; head: string };
  path: string;
  /** Blocks in index order; rank 1 = most important. */
  layers: { index: number; score: number; rank: number; params: number }[];
  /** Activation metrics: how much text they ran on. */
  text?: TextUsage;
  /** Activation metrics: providers earlier in the user's order that could not start here, with why. */
  devicesSkipped?: string[];
  warnings: string[];
}

export interface TextUsage {
  /** Tokens fed to the model (at most maxTokens of the text). */
  tokens: number;
  windows: number;
  /** The text had more tokens than maxTokens; the rest was not read. */
  truncated: boolean;
}

export interface PerplexityResult {
  path: string;
  device: string;
  /** Block-engine runs: the provider each part ran on (blocks, LM head). */
  devices?: { blocks: string; head: string };
  /** Tokens fed; `predicted` of them (all but each window's first) have a log-likelihood. */
  tokens: number;
  predicted: number;
  windows: number;
  truncated: boolean;
  /** Mean negative log-likelihood in nats per predicted token. */
  nll: number;
  perplexity: number;
  /** Providers earlier in the user's order that could not start here, with why (JSON only; the CLI text omits them). */
  devicesSkipped: string[];
  warnings: string[];
}

/** Names and descriptions of each: protocol/saliencyMethods.ts. */
export type SaliencyMethod = 'occlusion' | 'reagent' | 'attention' | 'ig' | 'grad-input' | 'grad';

export interface SaliencyToken {
  text: string;
  /** UTF-16 offsets into the analysed text. */
  start: number;
  end: number;
  /** Mean over seeds of how much the token supports the target (Δ log-probability, or attention flow). */
  score: number;
  /**
   * Standard deviation over seeds (0 for deterministic methods): the explanation's stability. With --compare: the
   * sample sd over the checkpoints, as the CLI contract defines `tokens[].sd` there (the seeds' sd is `seedSd`).
   */
  sd: number;
  /** With --compare (the contract's per-token fields over the checkpoints; see StabilityToken): score stays the first model's. */
  mean?: number;
  snr?: number | null;
  meanOverSd?: number | null;
  scores?: number[];
  seedSd?: number;
}

export interface SaliencyResult {
  path: string;
  method: SaliencyMethod;
  device: string;
  /** Block-engine runs: the provider each part ran on (blocks, LM head). */
  devices?: { blocks: string; head: string };
  /** The analysed (context) text the token offsets point into. */
  text: string;
  /** What the scores explain: the text's last token, or a given continuation. */
  target: { text: string; tokens: number; logProbability: number; fromText: boolean };
  seeds: number;
  tokens: SaliencyToken[];
  /** Integrated gradients only: the path's steps, and the completeness gap |Σ scores − (F(text) − F(baseline))| (F = log p(target); as Captum's convergence delta). */
  steps?: number;
  delta?: number;
  /** ReAGent only: replacement masks run per seed (fewer than 4 per token where --max-steps cut them; see warnings). */
  masks?: number;
  /** Providers earlier in the user's order that could not start here, with why (JSON only; the CLI text omits them). */
  devicesSkipped: string[];
  warnings: string[];
  /** With --compare: the mean pairwise Spearman ρ between the checkpoints' scores (stability.rankAgreement). */
  rankAgreement?: number | null;
  /**
   * With --compare: the same method on the same tokens over every checkpoint (the fields above are the first's, but
   * each of `tokens` also carries its mean, sd, snr and scores over the checkpoints, as the CLI contract says).
   */
  stability?: SaliencyStability;
}

/** One token's scores over the checkpoints (sd: sample sd, n − 1, as the seeds' sd). */
export interface StabilityToken {
  text: string;
  start: number;
  end: number;
  mean: number;
  sd: number;
  /** mean² / sd²; null when sd = 0 and mean ≠ 0 (no spread: unbounded), 0 when mean = 0. */
  snr: number | null;
  /** |mean| / sd = √snr, in the scores' own units of spread; null and 0 as snr. */
  meanOverSd: number | null;
  /** The token's score in each checkpoint, in stability.checkpoints' order. */
  scores: number[];
}

export interface StabilityPair {
  /** Indices into stability.checkpoints. */
  a: number;
  b: number;
  /** Over the tokens' scores; null where a series is constant. */
  spearman: number | null;
  kendall: number | null;
  /** Fraction of the k highest-scoring tokens of a that are among b's k highest. */
  topK: number;
}

export interface SaliencyStability {
  checkpoints: { path: string; device: string; logProbability: number; delta?: number }[];
  tokens: StabilityToken[];
  pairs: StabilityPair[];
  /** k of the top-k overlap. */
  topK: number;
  /** Mean over pairs of Spearman ρ (pairs where it is undefined left out; null if all are). */
  rankAgreement: number | null;
  /** Mean over pairs of Kendall τ-b and of the top-k overlap. */
  kendall: number | null;
  topKOverlap: number;
}

export interface Progress {
  message: string;
  /** 0..1 when the total is known. */
  fraction?: number;
}

/** One tensor's value distribution: equal-width bins between its smallest and largest finite value. */
export interface HistogramResult {
  path: string;
  tensor: string;
  dtype: string;
  /** bins + 1 edges, ascending; bin i holds edges[i] <= x < edges[i+1], the last bin also x == edges[bins]. */
  edges: number[];
  counts: number[];
  /** NaN and ±Inf elements, left out of the bins. */
  nonFinite: number;
}

/** One routed expert of one MoE block on a text (`experts MODEL --text-file F`; docs/analyses.md). */
export interface ExpertScore {
  index: number;
  /** Token-slots routed to the expert / (tokens · num_experts_per_tok). */
  share: number;
  /** Mean routing weight applied to its output when chosen; null when no token chose it. */
  meanGate: number | null;
  /** Δ mean NLL (nats per predicted token) when the expert is dropped and its tokens re-routed to the next choice. */
  score: number;
  /** 1 = most important in its block (highest score). */
  rank: number;
  /** Mean over tokens of ‖h′ − h‖ / ‖h‖ for the block's output with the expert dropped. */
  outputChange: number;
  /**
   * First-order Taylor importance: Σ over the expert's weights of |W ⊙ ∂L/∂W|, L the mean NLL on the text (0 if
   * unrouted); null unless asked for (`experts --taylor`: it costs a backward pass).
   */
  taylor: number | null;
}

export interface ExpertsResult {
  path: string;
  device: string;
  modelType: string;
  /** Routed experts per MoE block, and how many each token goes to. */
  experts: number;
  topK: number;
  tokens: number;
  predicted: number;
  windows: number;
  truncated: boolean;
  /** The plain model's mean NLL on the text (nats per predicted token). */
  nll: number;
  /** MoE blocks only; blocks with a dense MLP are listed in denseBlocks. */
  blocks: { index: number; experts: ExpertScore[] }[];
  denseBlocks: number[];
  devicesSkipped: string[];
  warnings: string[];
}
