// The plan requests of the analysis process (protocol/worker.ts) and what they answer: generating a plan, what can
// be planned for a model, a plan carried out on paper (the preview diff and the plan panel), applying and verifying.
// Types only: the webview bundle imports this file.
import type { Counts, PrunePlan } from './pruneplan';

/** Options of `plan MODEL`: exactly one of dropLayers, dropHeads, dropQueryHeads, dropExperts, dropMlpChannels, sparsity. */
export interface PlanRequest {
  model: string;
  dropLayers?: number;
  /** KV groups to drop in every block (GQA-aware head pruning). */
  dropHeads?: number;
  /** Query heads to drop within every KV group. */
  dropQueryHeads?: number;
  /** MoE experts to drop in every MoE block. */
  dropExperts?: number;
  /** MLP intermediate channels to drop in every block: a count, or a fraction (< 1) of intermediate_size. */
  dropMlpChannels?: number;
  sparsity?: number;
  metric?: string;
  textFile?: string;
  maxTokens?: number;
  allocation?: 'uniform' | 'owl';
  lambda?: number;
  /** Where the plan will be written: paths in it are made relative to this directory. */
  planDirectory?: string;
  /** Make the best contiguous block the action (and the lowest-scoring blocks the alternative). */
  contiguous?: boolean;
  /** onnxruntime execution providers for the activation metrics (default: IMPORTANCE_LENS_PROVIDERS). */
  providers?: readonly string[];
}

/** What `apply` wrote (the CLI's JSON adds `perplexity` with --verify). */
export interface ApplyResult {
  /** The folder written; '' for a plan verified without writing (run on the source model in memory). */
  out: string;
  /** The checkpoint the plan was applied to (read only). */
  source: string;
  files: string[];
  parameters: Counts;
  bytes: Counts;
  layers: Counts;
  /** Weights set to zero by sparsity; they are stored, so the files do not shrink by them. */
  zeroed: number;
  configChanges: string[];
  warnings: string[];
}

/** apply's verification: the source and the result run on the same text by the `perplexity` analysis. */
export interface PlanVerification {
  textFile: string;
  tokens: number;
  device: string;
  perplexity: Counts;
}

/** apply run for the editor: `kept` false when it only verified (the result was written to a scratch folder and removed). */
export interface ApplyOutcome extends ApplyResult {
  kept: boolean;
  verification: PlanVerification | null;
}

/** The kinds of plan the editor offers (contiguous-block: drop-layers with `contiguous`). */
export type PlanKind = 'drop-layers' | 'contiguous-block' | 'sparsity' | 'drop-heads' | 'drop-query-heads' | 'drop-experts' | 'drop-mlp-channels';

export interface PlanChoice {
  kind: PlanKind;
  /** The largest amount generatePlan accepts for this model (a count; 0.99 for sparsity). */
  max: number;
  /** The metrics it can score by, the default first; `needsText`: an activation metric, run on a text. */
  metrics: { name: string; needsText: boolean }[];
}

/** What generatePlan can do for a model, asked before the editor asks the user. */
export interface PlanChoices {
  model: string;
  family: string;
  layers: number;
  /** tokenizer.json is there, so activation metrics can run. */
  runsOnText: boolean;
  available: PlanChoice[];
  unavailable: { kind: PlanKind; reason: string }[];
}

/** One part of the model a plan removes (or, for drop-layers, a block it renumbers), linked to where it is defined. */
export interface PlanRow {
  /** mlp-channels: one row per block, for all the channels it loses (a 7B model's would be thousands of rows). */
  kind: 'layer' | 'kv-group' | 'query-head' | 'expert' | 'sparsity' | 'mlp-channels';
  /** Block index in the source checkpoint. */
  layer: number;
  /** The KV group, query head or expert within the block. */
  index: number | null;
  /** Block index after pruning; null when the block is dropped (or for heads, experts and sparsity). */
  after: number | null;
  removed: boolean;
  score: number | null;
  rank: number | null;
  /** Sparsity: the fraction of the block's linear weights set to zero; mlp-channels: the fraction of its channels dropped. */
  ratio: number | null;
  /**
   * mlp-channels: how many of the block's intermediate channels go, and the lowest and highest score and rank
   * among them (null when metric.scores does not list every dropped channel: a hand-edited plan, or a model over
   * the plan's score cap). Null for other rows.
   */
  channels: { dropped: number; width: number; score: [number, number] | null; rank: [number, number] | null } | null;
  /** The config.json key that counts what the row removes (none for sparsity: the config keeps its shapes). */
  configKey: string | null;
  /** A tensor of the removed part, with its file. */
  tensor: { name: string; file: string } | null;
}

/** The plan carried out on paper: config.json and the weight map before and after, and the rows it removes. */
export interface PlanPreview {
  plan: PrunePlan;
  model: string;
  configPath: string;
  config: { before: string; after: string };
  /** The index file when the checkpoint is sharded; else a weight map generated for both sides. */
  weightMap: { indexFile: string | null; before: string; after: string };
  configChanges: string[];
  rows: PlanRow[];
}

export type PlanWorkerRequest =
  | ({ analysis: 'plan' } & PlanRequest)
  | { analysis: 'plan-choices'; model: string }
  /** `text`: the plan document's current text (an editor's unsaved edits), instead of the file's. */
  | { analysis: 'plan-preview'; plan: string; text?: string }
  /** `out` null: write to a scratch folder, verify, remove it. */
  | { analysis: 'apply'; plan: string; out: string | null; verify?: { textFile: string; maxTokens?: number }; providers?: string[] };

export type PlanWorkerResult =
  /** `device`: where the metric ran (null for weight-only metrics). */
  | { analysis: 'plan'; result: { plan: PrunePlan; device: string | null } }
  | { analysis: 'plan-choices'; result: PlanChoices }
  | { analysis: 'plan-preview'; result: PlanPreview }
  | { analysis: 'apply'; result: ApplyOutcome };

/** Where a plan panel row can send the user: the config key's line, the checkpoint, the modeling_*.py class. */
export interface PlanRowLinks {
  config: boolean;
  tensor: boolean;
  /** The class the row's part is defined by, when a modeling_*.py in the workspace defines it. */
  modeling: string | null;
}

/** What the plan panel shows: the plan on paper, with links, and the latest verification and apply of it. */
export interface PlanPanelView {
  file: string;
  model: string;
  metric: string;
  textFile: string | null;
  actions: PrunePlan['actions'];
  alternatives: PrunePlan['alternatives'];
  predicted: PrunePlan['predicted'];
  configChanges: string[];
  rows: (PlanRow & { links: PlanRowLinks })[];
  notes: string[];
  verified: ApplyOutcome | null;
  applied: ApplyOutcome | null;
}

export type PlanPanelCommand = 'preview' | 'apply' | 'verify';
export type PlanLinkTarget = keyof PlanRowLinks;
