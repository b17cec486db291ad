// The tokenizer of the model an analysis runs: a .gguf file carries its own in its metadata; any other model
// (a Hugging Face directory, an exported .onnx decoder) has tokenizer.json in its directory.
import { isGgufPath } from './engine/modelSource';
import { GgufTokenizer } from './ggufTokenizer';
import { TextTokenizer, type ModelTokenizer } from './tokenizer';

export async function loadModelTokenizer(model: { readonly path: string; readonly directory: string }): Promise<ModelTokenizer> {
  if (isGgufPath(model.path)) return GgufTokenizer.load(model.path);
  return TextTokenizer.load(model.directory);
}
