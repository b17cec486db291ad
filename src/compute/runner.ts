// What the forward-pass analyses need of a model, whichever way it was made runnable: a Hugging Face directory run
// block by block (LanguageModel on the block engine), or an exported .onnx decoder whose residual stream is exposed
// by adding outputs to its graph (OnnxDecoder). Capabilities a kind lacks are flags, so analyses can say why not.
// Types only: both runners and openModelRunner (modelRunner.ts) import them, so no module imports its importer.
import type { LinearSite } from './families/types';
import type { ProviderName } from './session';

export type { LinearSite };

export interface ForwardOutput {
  batch: number;
  seq: number;
  /** [batch, seq, vocab] row-major; empty when `logits: false` was asked. */
  logits: Float32Array;
  /** hidden[l]: [batch, seq, hidden], the residual stream entering block l (l = layers: the last block's output). */
  hidden: Float32Array[];
  /** attention[l]: [batch, heads, seq, seq] probabilities of block l, when asked for. */
  attention: Float32Array[];
  /** linearInputs[i]: [batch·seq, width] input of linearSites[i], when asked for. */
  linearInputs: Float32Array[];
  /** [batch, seq] log p(targets[b][t]) (NaN where the target is −1), when targets were given and the runner streams. */
  logProbs?: Float64Array;
}

/** What one block did, handed to ForwardOptions.onBlock as the block finishes (buffers valid during the call). */
export interface BlockEvent {
  layer: number;
  /** [batch, seq, hidden] entering and leaving the block (the same array for a skipped block). */
  input: Float32Array;
  output: Float32Array;
  attention?: Float32Array;
  /** In the order of the block's linear sites. */
  linearInputs?: Float32Array[];
}

export interface ForwardOptions {
  /** Leave block `skip`'s residual updates out (needs canSkipBlocks); an array skips several. */
  skip?: number | readonly number[];
  hidden?: boolean;
  attention?: boolean;
  linearInputs?: boolean;
  /** false: no [batch, seq, vocab] logits (the head still gives logProbs for targets). Default true. */
  logits?: boolean;
  /** Per row and position, the token whose log-probability is wanted there, or −1. */
  targets?: readonly (readonly number[])[];
  /**
   * Edits a block's float32 weights (by checkpoint name) after they are read and before the block runs: a plan's
   * zeroed weights, run without writing them. The buffers are re-read for the next pass.
   */
  editBlock?: (layer: number, weights: ReadonlyMap<string, Float32Array>) => void;
  /** Per block, [heads] 1 keeps a query head and 0 masks it; undefined keeps all. */
  headMask?: (layer: number) => Float32Array | undefined;
  /** MoE models: per block, routed experts removed as a pruned checkpoint removes them (router rows gone). */
  dropExperts?: (layer: number) => readonly number[] | undefined;
  /**
   * Called as each block finishes, so analyses reduce as they go instead of keeping every block's tensors; with it,
   * a streaming runner does not keep attention or linear inputs in the output.
   */
  onBlock?: (event: BlockEvent) => void;
  /** "block 17 / 32, 3.1 s" as blocks finish, "head 3 / 19" as vocabulary chunks do. */
  onProgress?: (message: string, fraction: number) => void;
  signal?: AbortSignal;
}

export interface ModelRunner {
  /** What the user named (a directory, a .gguf file or an .onnx file). */
  readonly path: string;
  /** The directory holding tokenizer.json (and config.json, when there is one); a .gguf file's own directory. */
  readonly directory: string;
  readonly device: ProviderName;
  readonly devicesSkipped: string[];
  /** Where each part runs, when parts run separately (the block engine: blocks and LM head). */
  readonly devices?: { blocks: ProviderName; head: ProviderName };
  readonly layers: number;
  readonly vocab: number;
  readonly hidden: number;
  readonly heads: number;
  /** The longest window of tokens the model attends over. */
  readonly contextLength: number;
  /** Parameters of each block, where known. */
  readonly blockParameters: readonly number[];
  readonly canSkipBlocks: boolean;
  readonly canExposeAttention: boolean;
  /** True when forward honours onBlock, targets, logits: false, onProgress and signal (the block engine). */
  readonly streams?: boolean;
  /** The inputs of the blocks' linear layers that forward({ linearInputs: true }) returns (empty: not available). */
  readonly linearSites: readonly LinearSite[];
  forward(rows: readonly (readonly number[])[], options?: ForwardOptions): Promise<ForwardOutput>;
  /**
   * Per block l, Σ −log p(ids[t+1] | ids[..t]) over the window with block l skipped, from shared block passes
   * (engine/ablation.ts); absent where blocks cannot be skipped.
   */
  ablate?(ids: readonly number[], options?: Pick<ForwardOptions, 'signal' | 'onProgress'>): Promise<Float64Array>;
  /** How many batch rows of `seq` tokens one pass can take in free memory (streaming runners). */
  rowsPerPass?(seq: number): number;
  release(): Promise<void>;
}
