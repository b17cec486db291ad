// What the forward-pass analyses need of a model, whichever way it was made runnable: a Hugging Face directory
// whose graph is built in code (LanguageModel), or an exported .onnx decoder whose residual stream is exposed by
// adding outputs to its graph (OnnxDecoder). Capabilities a kind lacks are flags, so analyses can say why not.
import { dirname } from 'node:path';
import { InputError } from '../errors';
import { pathKind } from '../formats/fileio';
import type { LinearSite } from './graphs/decoder';
import { LanguageModel } from './languageModel';
import { OnnxDecoder } from './onnxDecoder';
import type { ProviderName } from './session';

export interface ForwardOutput {
  batch: number;
  seq: number;
  /** [batch, seq, vocab] row-major. */
  logits: Float32Array;
  /** hidden[l]: [batch, seq, hidden], the residual stream entering block l (l = layers: the last block's output). */
  hidden: Float32Array[];
  /** attention[l]: [batch, heads, seq, seq] probabilities of block l, when asked for. */
  attention: Float32Array[];
  /** linearInputs[i]: [batch, seq, width] input of linearSites[i], when asked for. */
  linearInputs: Float32Array[];
}

export interface ForwardOptions {
  /** Leave block `skip`'s residual updates out (needs canSkipBlocks). */
  skip?: number;
  hidden?: boolean;
  attention?: boolean;
  linearInputs?: boolean;
}

export interface ModelRunner {
  /** What the user named (a directory or an .onnx file). */
  readonly path: string;
  /** The directory holding tokenizer.json (and config.json, when there is one). */
  readonly directory: string;
  readonly device: ProviderName;
  readonly devicesSkipped: string[];
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
  /** The inputs of the blocks' linear layers that forward({ linearInputs: true }) returns (empty: not available). */
  readonly linearSites: readonly Omit<LinearSite, 'tensor'>[];
  forward(rows: readonly (readonly number[])[], options?: ForwardOptions): Promise<ForwardOutput>;
  release(): Promise<void>;
}

/** A Hugging Face directory (or its config.json) or an .onnx file, ready to run. */
/**
 * `residualStream`: for an exported decoder, the tensors entering block 0 and leaving each block by name, instead
 * of finding them from exporter names.
 */
export async function openModelRunner(path: string, providers?: readonly string[], signal?: AbortSignal, residualStream?: readonly string[]): Promise<ModelRunner> {
  const kind = await pathKind(path);
  if (kind === 'missing') throw new InputError(`${path}: no such file or directory`);
  if (kind === 'file' && /\.onnx$/i.test(path)) return OnnxDecoder.open(path, providers, signal, residualStream);
  if (residualStream && residualStream.length > 0) {
    throw new InputError(`${path}: residual-stream tensor names apply to exported .onnx decoders; a Hugging Face directory's graph is built with them`);
  }
  if (kind === 'directory') return LanguageModel.open(path, providers, signal);
  // config.json or a weights file of a Hugging Face directory: the directory is the model.
  if (/(^|[\\/])config\.json$|\.safetensors$/i.test(path)) return LanguageModel.open(dirname(path), providers, signal);
  throw new InputError(`${path}: a forward pass needs a Hugging Face model directory (config.json, weights, tokenizer.json) or an .onnx decoder`);
}
