// Layer importance of a model on the sample text, and the model's perplexity on that same text: what the panel's
// "Layer importance on text" section shows, and what the API offers scripts. Both runs go through runAnalysis
// with the user's providers and token cap.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../../errors';
import type { Progress } from '../../protocol/results';
import type { LayerMetricName, TextLayersResult } from '../../protocol/webview';
import { runAnalysis } from '../shared/analysisService';
import { chooseSampleText } from '../shared/sampleText';
import { admitInThisWorkspace } from '../shared/workspaceTrust';
import { runSettings } from '../shared/settings';

export interface LayersOnTextOptions {
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  /** Show an open dialog when no sample text is set (false: fail with the reason instead). */
  askForText?: boolean;
}

/**
 * The model a path stands for when the forward-pass analyses can run it: a Hugging Face directory (the folder
 * itself, or the folder of its config.json or weights) with config.json and tokenizer.json both there, or a .gguf
 * file itself (its metadata holds the config and the tokenizer; an architecture the engine does not run is refused
 * by name when it runs).
 */
export function textModelDirectory(path: string): string | null {
  let directory: string;
  try {
    if (/\.gguf$/i.test(path) && statSync(path).isFile()) return path;
    directory = statSync(path).isDirectory() ? path : /^(config\.json|.*\.safetensors(\.index\.json)?)$/.test(basename(path)) ? dirname(path) : '';
  } catch {
    return null;
  }
  if (!directory) return null;
  return existsSync(join(directory, 'config.json')) && existsSync(join(directory, 'tokenizer.json')) ? directory : null;
}

export async function layersOnText(model: string, metric: LayerMetricName, options: LayersOnTextOptions = {}): Promise<TextLayersResult> {
  const needsText = metric !== 'weight-l2';
  // In Restricted Mode the run is refused anyway: refuse before asking for a text, naming the layer metric.
  await admitInThisWorkspace({ analysis: 'layers', path: model, metric });
  const text = await chooseSampleText(needsText && (options.askForText ?? false));
  if (needsText && text.kind === 'none') throw new InputError(text.message);
  const textFile = text.kind === 'file' ? text.path : null;
  const { providers, maxTokens, residualStream } = runSettings();
  // The residual-stream names only mean something for an exported .onnx decoder.
  const stream = /\.onnx$/i.test(model) && residualStream.length > 0 ? { residualStream } : {};
  const run = { signal: options.signal, onProgress: options.onProgress };
  const perplexity = textFile === null ? null : (await runAnalysis({ analysis: 'perplexity', model, text: { file: textFile }, maxTokens, providers, ...stream }, run)).result;
  const layers = (await runAnalysis({
    analysis: 'layers', path: model, metric, maxTokens, providers, ...stream,
    ...(needsText && textFile !== null ? { text: { file: textFile } } : {}),
  }, run)).result;
  return { layers, perplexity, textFile, textSource: text.kind === 'file' ? (text.picked ? 'picked' : 'setting') : null };
}
