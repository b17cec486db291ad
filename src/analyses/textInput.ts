// The text an activation analysis runs on: given inline or as a file, tokenized by the model's own tokenizer,
// capped at maxTokens, and cut into windows the model can attend over (its context, or a sliding window).
import { loadModelTokenizer } from '../compute/modelTokenizer';
import type { TokenSpan } from '../compute/tokenizer';
import type { ModelRunner } from '../compute/runner';
import { InputError } from '../errors';
import { openForReading, readExactly } from '../formats/fileio';

import type { TextSource } from '../protocol/worker';

export type { TextSource };

/** What every analysis that runs a model on a text takes. */
export interface TextAnalysisInput {
  model: string;
  text: TextSource;
  maxTokens?: number;
  providers?: readonly string[];
  /** Exported .onnx decoders: the residual stream by tensor name, when the exporter names do not show it. */
  residualStream?: readonly string[];
}

/** Texts beyond this are refused: activation analyses read at most maxTokens tokens of them anyway. */
export const MAX_TEXT_FILE_BYTES = 16 * 2 ** 20;
export const DEFAULT_MAX_TOKENS = 512;

export async function readText(source: TextSource): Promise<string> {
  if ('text' in source) return source.text;
  const { handle, size } = await openForReading(source.file);
  try {
    if (size > MAX_TEXT_FILE_BYTES) throw new InputError(`${source.file}: ${size} bytes; text files over ${MAX_TEXT_FILE_BYTES} bytes are refused`);
    const text = (await readExactly(handle, 0, size, source.file)).toString('utf8');
    if (text.includes('\uFFFD')) throw new InputError(`${source.file}: is not UTF-8 text`);
    return text;
  } finally {
    await handle.close();
  }
}

export interface TokenizedText {
  text: string;
  spans: TokenSpan[];
  /** Consecutive token windows, each at most the model's context. */
  windows: TokenSpan[][];
  /** True when the text had more than maxTokens tokens and was cut. */
  truncated: boolean;
}

export function contextLength(model: ModelRunner, maxTokens: number): number {
  return Math.min(model.contextLength, maxTokens);
}

export async function tokenizeText(model: ModelRunner, source: TextSource, maxTokens = DEFAULT_MAX_TOKENS, minTokens = 2): Promise<TokenizedText> {
  if (!Number.isSafeInteger(maxTokens) || maxTokens < 2) throw new InputError(`max tokens must be an integer ≥ 2 (got ${maxTokens})`);
  const text = await readText(source);
  const tokenizer = await loadModelTokenizer(model);
  const all = await tokenizer.encode(text);
  if (all.length < minTokens) throw new InputError(`the text has ${all.length} token(s); this analysis needs at least ${minTokens}`);
  const spans = all.slice(0, maxTokens);
  const size = contextLength(model, maxTokens);
  const windows: TokenSpan[][] = [];
  for (let start = 0; start < spans.length; start += size) windows.push(spans.slice(start, start + size));
  // A one-token tail window predicts nothing; fold it away rather than report an empty window.
  if (windows.length > 1 && windows[windows.length - 1]!.length < 2) windows.pop();
  return { text, spans, windows, truncated: all.length > maxTokens };
}

/** At most this many windows run as one batch (each block's weights are then read once for all of them). */
const MAX_WINDOWS_PER_PASS = 16;

/**
 * The text's windows as batches of equal-length windows, as many per pass as fit (the block engine reads each
 * block's weights once per pass); one per pass for runners that do not say what fits.
 */
export function windowBatches(model: ModelRunner, text: TokenizedText): { first: number; rows: number[][] }[] {
  const batches: { first: number; rows: number[][] }[] = [];
  const limit = (length: number) => Math.max(1, Math.min(MAX_WINDOWS_PER_PASS, model.rowsPerPass?.(length) ?? 1));
  text.windows.forEach((window, w) => {
    const ids = window.map((s) => s.id);
    const last = batches[batches.length - 1];
    if (last && last.rows[0]!.length === ids.length && last.rows.length < limit(ids.length)) last.rows.push(ids);
    else batches.push({ first: w, rows: [ids] });
  });
  return batches;
}
