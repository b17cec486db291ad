// `saliency MODEL --compare MODEL2 [MODEL3 …]`: the stability of an explanation across checkpoints of one model
// (fine-tunes with different seeds, a training run's checkpoints) — its signal-to-noise. The same saliency method
// (saliency.ts, run as is on each checkpoint) on the same tokens of the same text; per token the mean, sd and SNR
// over the checkpoints, and how well the checkpoints agree on the order of the tokens (pairwise Spearman ρ, Kendall
// τ-b and top-k overlap; src/protocol/ranks.ts). The scores are only comparable on one tokenisation and one
// architecture, so every checkpoint is checked against the first before any of them runs, and a difference is
// refused naming both checkpoints.
import { readFile } from 'node:fs/promises';
import { GgufTokenizer } from '../compute/ggufTokenizer';
import { openModelRunner, type ModelRunner } from '../compute/modelRunner';
import { loadModelTokenizer } from '../compute/modelTokenizer';
import type { ModelTokenizer, TokenSpan } from '../compute/tokenizer';
import { InputError, throwIfAborted } from '../errors';
import { MAX_TOKENIZER_BYTES } from '../compute/tokenizer';
import { kendallTauB, spearman, topKOverlap } from '../protocol/ranks';
import type { Progress, SaliencyResult, SaliencyStability, StabilityPair, StabilityToken } from '../protocol/results';
import { saliency, saliencyTokens, type SaliencyInput } from './saliency';
import { readText } from './textInput';

/** k of the top-k overlap when none is given. */
export const DEFAULT_TOP_K = 5;

export interface StabilityInput extends SaliencyInput {
  /** The other checkpoints; `model` is the first. */
  compare: readonly string[];
  topK?: number;
}

export async function* saliencyStability(input: StabilityInput, signal?: AbortSignal): AsyncGenerator<Progress, SaliencyResult> {
  const paths = [input.model, ...input.compare];
  if (input.compare.length === 0) throw new InputError('--compare needs at least one more checkpoint to compare the first with');
  const topK = input.topK ?? DEFAULT_TOP_K;
  if (!Number.isSafeInteger(topK) || topK < 1) throw new InputError(`top-k must be a positive integer (got ${topK})`);
  const repeated = paths.find((p, i) => paths.indexOf(p) !== i);
  if (repeated !== undefined) throw new InputError(`${repeated} is given twice: compare different checkpoints`);
  const text = await readText(input.text);
  const n = paths.length;

  // Every checkpoint checked before any runs: a refusal should not come after minutes of work.
  let first: CheckpointShape | undefined;
  for (let i = 0; i < n; i++) {
    throwIfAborted(signal);
    yield { message: `checkpoint ${i + 1} / ${n}: checking ${paths[i]}`, fraction: 0 };
    const shape = await checkpointShape(paths[i]!, text, input, signal);
    if (first) assertSameShape(first, shape);
    else first = shape;
  }

  const results: SaliencyResult[] = [];
  for (let i = 0; i < n; i++) {
    throwIfAborted(signal);
    const run = saliency({ ...input, model: paths[i]!, text: { text } }, signal);
    for (;;) {
      const step = await run.next();
      if (step.done) {
        results.push(step.value);
        break;
      }
      yield { message: `checkpoint ${i + 1} / ${n}: ${step.value.message}`, fraction: (i + (step.value.fraction ?? 0)) / n };
    }
  }
  const stability = stabilityOf(results, topK);
  // The contract: with --compare, tokens[] gives {text,start,end,mean,sd,snr} over the checkpoints and each one's
  // score in `scores`; the first model's own score stays in `score` and its sd over seeds moves to `seedSd`.
  const tokens = results[0]!.tokens.map((token, i) => {
    const { mean, sd, snr, meanOverSd, scores } = stability.tokens[i]!;
    return { ...token, mean, sd, snr, meanOverSd, scores, seedSd: token.sd };
  });
  return { ...results[0]!, tokens, rankAgreement: stability.rankAgreement, stability, warnings: [...new Set(results.flatMap((r) => r.warnings))] };
}

/** Per token mean, sd and SNR over the checkpoints' results (same tokens), and their pairwise rank agreement. */
export function stabilityOf(results: readonly SaliencyResult[], topK: number): SaliencyStability {
  const scores = results.map((r) => r.tokens.map((t) => t.score));
  const tokens: StabilityToken[] = results[0]!.tokens.map((t, i) => {
    const values = scores.map((s) => s[i]!);
    const mean = values.reduce((s, x) => s + x, 0) / values.length;
    const sd = Math.sqrt(values.reduce((s, x) => s + (x - mean) ** 2, 0) / (values.length - 1));
    // sd = 0: every checkpoint gives the same score. No noise: unbounded (null) when there is a signal, 0 when not.
    const snr = sd > 0 ? mean ** 2 / sd ** 2 : mean === 0 ? 0 : null;
    return { text: t.text, start: t.start, end: t.end, mean, sd, snr, meanOverSd: snr === null ? null : Math.sqrt(snr), scores: values };
  });
  const k = Math.min(topK, tokens.length);
  const pairs: StabilityPair[] = [];
  for (let a = 0; a < scores.length; a++) {
    for (let b = a + 1; b < scores.length; b++) {
      pairs.push({ a, b, spearman: spearman(scores[a]!, scores[b]!), kendall: kendallTauB(scores[a]!, scores[b]!), topK: topKOverlap(scores[a]!, scores[b]!, k) });
    }
  }
  return {
    checkpoints: results.map((r) => ({ path: r.path, device: r.device, logProbability: r.target.logProbability, ...(r.delta !== undefined ? { delta: r.delta } : {}) })),
    tokens,
    pairs,
    topK: k,
    rankAgreement: meanOf(pairs.map((p) => p.spearman)),
    kendall: meanOf(pairs.map((p) => p.kendall)),
    topKOverlap: meanOf(pairs.map((p) => p.topK))!,
  };
}

function meanOf(values: readonly (number | null)[]): number | null {
  const defined = values.filter((v): v is number => v !== null);
  return defined.length === 0 ? null : defined.reduce((s, v) => s + v, 0) / defined.length;
}

/** What must be equal between checkpoints for their scores to be compared token by token. */
interface CheckpointShape {
  path: string;
  /** Named numbers of the architecture: the model type, block count, widths, vocabulary, parameters per block. */
  architecture: [string, string | number][];
  vocabulary: string[] | null;
  context: TokenSpan[];
  target: TokenSpan[];
}

async function checkpointShape(path: string, text: string, input: SaliencyInput, signal?: AbortSignal): Promise<CheckpointShape> {
  const model = await openModelRunner(path, input.providers, signal, input.residualStream);
  try {
    const tokenizer = await loadModelTokenizer(model);
    const { context, target } = await saliencyTokens(tokenizer, text, input.target);
    return { path, architecture: architectureOf(model), vocabulary: await vocabularyOf(tokenizer), context, target };
  } finally {
    await model.release();
  }
}

function architectureOf(model: ModelRunner): [string, string | number][] {
  const spec = 'spec' in model ? (model.spec as { modelType?: unknown }) : undefined;
  return [
    ['model type', typeof spec?.modelType === 'string' ? spec.modelType : 'exported ONNX decoder'],
    ['blocks', model.layers],
    ['hidden size', model.hidden],
    ['attention heads', model.heads],
    ['vocabulary size', model.vocab],
    ['parameters per block', model.blockParameters.join(',')],
  ];
}

/** The token strings by id: a GGUF file's tokenizer.ggml.tokens, or tokenizer.json's model vocabulary and added tokens. */
async function vocabularyOf(tokenizer: ModelTokenizer): Promise<string[] | null> {
  if (tokenizer instanceof GgufTokenizer) return tokenizer.vocab.tokens;
  const raw = await readFile(tokenizer.path);
  if (raw.length > MAX_TOKENIZER_BYTES) return null;
  const json = JSON.parse(raw.toString('utf8')) as { model?: { vocab?: unknown }; added_tokens?: { id: number; content: string }[] };
  const vocabulary: string[] = [];
  const vocab = json.model?.vocab;
  // BPE and WordPiece: {token: id}; Unigram: [[piece, score], ...] in id order.
  if (Array.isArray(vocab)) vocab.forEach((entry, id) => (vocabulary[id] = String((entry as unknown[])[0])));
  else if (vocab && typeof vocab === 'object') for (const [token, id] of Object.entries(vocab)) vocabulary[Number(id)] = token;
  for (const added of json.added_tokens ?? []) vocabulary[added.id] = added.content;
  return Array.from(vocabulary, (t) => t ?? '');
}

function assertSameShape(first: CheckpointShape, other: CheckpointShape): void {
  const both = `${first.path} and ${other.path}`;
  for (let i = 0; i < first.architecture.length; i++) {
    const [name, a] = first.architecture[i]!;
    const b = other.architecture[i]![1];
    if (a !== b) throw new InputError(`${both} are different architectures (${name}: ${a} vs ${b}): stability compares checkpoints of one model (fine-tunes, a training run)`);
  }
  const advice = 'stability compares one tokenisation of the text, so the checkpoints must share their tokenizer';
  if (first.vocabulary && other.vocabulary) {
    const length = Math.max(first.vocabulary.length, other.vocabulary.length);
    for (let id = 0; id < length; id++) {
      const a = first.vocabulary[id];
      const b = other.vocabulary[id];
      if (a !== b) throw new InputError(`${both} have different vocabularies (token id ${id}: ${JSON.stringify(a ?? null)} vs ${JSON.stringify(b ?? null)}): ${advice}`);
    }
  }
  for (const [part, a, b] of [['text', first.context, other.context], ['target', first.target, other.target]] as const) {
    const length = Math.max(a.length, b.length);
    for (let i = 0; i < length; i++) {
      if (a[i]?.id !== b[i]?.id || a[i]?.text !== b[i]?.text) {
        const show = (t: TokenSpan | undefined) => (t ? `${JSON.stringify(t.text)} (id ${t.id})` : 'no token');
        throw new InputError(`${both} tokenize the ${part} differently (token ${i + 1}: ${show(a[i])} vs ${show(b[i])}): ${advice}`);
      }
    }
  }
}
