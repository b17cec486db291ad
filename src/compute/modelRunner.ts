// Opens what the user named as a runnable model: a Hugging Face directory or a .gguf file (LanguageModel, block by
// block) or an exported .onnx decoder (OnnxDecoder). The interface both implement is in runner.ts (re-exported here).
import { dirname } from 'node:path';
import { InputError } from '../errors';
import { pathKind } from '../formats/fileio';
import { isGgufPath } from './engine/modelSource';
import { LanguageModel } from './languageModel';
import { OnnxDecoder } from './onnxDecoder';
import type { ModelRunner } from './runner';

export type { BlockEvent, ForwardOptions, ForwardOutput, LinearSite, ModelRunner } from './runner';

/**
 * A Hugging Face directory (or its config.json), a .gguf file or an .onnx file, ready to run. `residualStream`: for an exported
 * decoder, the tensors entering block 0 and leaving each block by name, instead of finding them from exporter names.
 */
export async function openModelRunner(path: string, providers?: readonly string[], signal?: AbortSignal, residualStream?: readonly string[]): Promise<ModelRunner> {
  const kind = await pathKind(path);
  if (kind === 'missing') throw new InputError(`${path}: no such file or directory`);
  if (kind === 'file' && /\.onnx$/i.test(path)) return OnnxDecoder.open(path, providers, signal, residualStream);
  if (residualStream && residualStream.length > 0) {
    throw new InputError(`${path}: residual-stream tensor names apply to exported .onnx decoders; a Hugging Face directory's or a GGUF file's graph is built with them`);
  }
  if (kind === 'directory' || (kind === 'file' && isGgufPath(path))) return LanguageModel.open(path, providers, signal);
  // config.json or a weights file of a Hugging Face directory: the directory is the model.
  if (/(^|[\\/])config\.json$|\.safetensors$/i.test(path)) return LanguageModel.open(dirname(path), providers, signal);
  throw new InputError(`${path}: a forward pass needs a Hugging Face model directory (config.json, weights, tokenizer.json), a .gguf file or an .onnx decoder`);
}
