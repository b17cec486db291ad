// A GGUF file's tokenizer as its `tokenizer.ggml.*` metadata describes it, checked and with llama.cpp's defaults
// filled in (src/llama-vocab.cpp, llama_vocab::impl::load): which algorithm, the tokens with their scores and
// types, the merges, the BOS/EOS ids and whether a text gets them. Everything the file says is checked before it
// is used: a wrong type or an id past the vocabulary is an error naming the file and the key.
import { InputError } from '../errors';
import { readGgufMetadata, type GgufValue } from '../formats/gguf';
import type { PreTokenizer } from './ggufPretokenize';

/** llama.cpp's token types (tokenizer.ggml.token_type). */
export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

export interface GgufVocab {
  path: string;
  /** `llama`: SentencePiece-style merges by score with byte fallback; `gpt2`: byte-level BPE with ranked merges. */
  model: 'llama' | 'gpt2';
  /** tokenizer.ggml.pre as written (empty when absent); `preTokenizer` is what it selects (gpt2 only). */
  pre: string;
  preTokenizer: PreTokenizer;
  tokens: string[];
  scores: Float32Array;
  types: Int32Array;
  /** gpt2: merge pair "left right" -> rank (lower merges first). */
  ranks: Map<string, number>;
  /** Whole words found in the vocabulary skip the merges (llama.cpp's ignore_merges, Llama 3 and kin). */
  ignoreMerges: boolean;
  bos: number | null;
  eos: number | null;
  unk: number | null;
  addBos: boolean;
  addEos: boolean;
  addSpacePrefix: boolean;
}

/** llama.cpp's names for the pre-tokenizers implemented here (llama_vocab::impl::load); others are refused. */
const PRE_TOKENIZERS: Readonly<Record<string, { kind: PreTokenizer; ignoreMerges?: boolean; addBos?: boolean }>> = {
  default: { kind: 'default' },
  ...Object.fromEntries(['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2', 'jina-v5-nano']
    .map((name) => [name, { kind: 'llama3', ignoreMerges: true, addBos: true }])),
  dbrx: { kind: 'llama3' },
  'smaug-bpe': { kind: 'llama3' },
  ...Object.fromEntries(['gpt-2', 'phi-2', 'jina-es', 'jina-de', 'gigachat', 'jina-v2-es', 'jina-v2-de', 'a.x-4.0', 'mellum',
    'modern-bert', 'exaone4', 'mpt', 'olmo', 'jais', 'trillion', 'granite-docling'].map((name) => [name, { kind: 'gpt-2' }])),
  ...Object.fromEntries(['qwen2', 'deepseek-r1-qwen', 'kormo', 'f2llmv2', 'megrez', 'stablelm2', 'hunyuan', 'solar-open']
    .map((name) => [name, { kind: 'qwen2' }])),
  ...Object.fromEntries(['starcoder', 'refact', 'command-r', 'smollm', 'codeshell', 'exaone', 'minerva-7b', 'mellum2']
    .map((name) => [name, { kind: 'starcoder' }])),
  falcon: { kind: 'falcon' },
  qwen35: { kind: 'qwen35' },
};

/** Tokens llama.cpp makes control tokens by their text when the file typed them otherwise (its EOT list). */
const CONTROL_BY_TEXT = new Set([
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>', '_<EOT>', '[EOT]',
  '<｜end▁of▁sentence｜>', '<end_of_utterance>',
]);

export async function readGgufVocab(path: string): Promise<GgufVocab> {
  const values = await readGgufMetadata(path, (key) => key.startsWith('tokenizer.ggml.'));
  const fail = (message: string): never => {
    throw new InputError(`${path}: ${message}`);
  };
  const model = stringOf(values, 'tokenizer.ggml.model', path);
  if (model === undefined) fail('has no tokenizer.ggml.model; the tokenizer cannot be built from this file');
  if (model !== 'llama' && model !== 'gpt2') {
    fail(`tokenizer.ggml.model is '${model}'; only 'llama' (SentencePiece) and 'gpt2' (byte-level BPE) tokenizers are built from GGUF metadata`);
  }
  const tokens = stringArray(values, 'tokenizer.ggml.tokens', path);
  if (tokens === undefined) fail('has no tokenizer.ggml.tokens');
  const n = tokens!.length;
  if (n === 0) fail('tokenizer.ggml.tokens is empty');
  // llama.cpp renames empty tokens so that every text maps to one id.
  for (let i = 0; i < n; i++) if (tokens![i] === '') tokens![i] = `[EMPTY_${i}]`;

  const scores = new Float32Array(n);
  const scoreValue = values.get('tokenizer.ggml.scores');
  if (scoreValue !== undefined) {
    const items = numericArray(scoreValue, ['float32', 'int32'], 'tokenizer.ggml.scores', path);
    if (items.length < n) fail(`tokenizer.ggml.scores has ${items.length} entries for ${n} tokens`);
    for (let i = 0; i < n; i++) scores[i] = items[i]!;
  }
  const types = new Int32Array(n).fill(TOKEN_TYPE.normal);
  const typeValue = values.get('tokenizer.ggml.token_type');
  if (typeValue !== undefined) {
    const items = numericArray(typeValue, ['int32'], 'tokenizer.ggml.token_type', path);
    if (items.length < n) fail(`tokenizer.ggml.token_type has ${items.length} entries for ${n} tokens`);
    for (let i = 0; i < n; i++) types[i] = items[i]!;
  }
  for (let i = 0; i < n; i++) {
    if (types[i] !== TOKEN_TYPE.control && CONTROL_BY_TEXT.has(tokens![i]!)) types[i] = TOKEN_TYPE.control;
  }

  const pre = stringOf(values, 'tokenizer.ggml.pre', path) ?? '';
  let preTokenizer: PreTokenizer = 'default';
  let ignoreMerges = false;
  let addBos: boolean;
  let addSpacePrefix: boolean;
  const ranks = new Map<string, number>();
  let bos: number | null;
  let eos: number | null;
  let unk: number | null;
  if (model === 'llama') {
    [bos, eos, unk] = [1, 2, 0];
    addBos = true;
    addSpacePrefix = true;
  } else {
    // An absent pre-tokenizer is llama.cpp's 'default' (it warns that quality degrades); an unknown one is refused
    // by name rather than guessed, since a wrong split gives wrong ids without any sign.
    const known = Object.hasOwn(PRE_TOKENIZERS, pre || 'default') ? PRE_TOKENIZERS[pre || 'default']! : undefined;
    if (known === undefined) {
      fail(`tokenizer.ggml.pre is '${pre}', a pre-tokenizer this reader does not implement (known: ${Object.keys(PRE_TOKENIZERS).join(', ')})`);
    }
    preTokenizer = known!.kind;
    ignoreMerges = known!.ignoreMerges ?? false;
    addBos = known!.addBos ?? false;
    addSpacePrefix = false;
    [bos, eos, unk] = [11, 11, null];
    const merges = stringArray(values, 'tokenizer.ggml.merges', path);
    if (merges === undefined) fail('is a gpt2 (BPE) tokenizer without tokenizer.ggml.merges');
    merges!.forEach((merge, rank) => {
      // llama.cpp splits at the first space after the first character; a merge without one pairs '' with ''.
      const at = merge.indexOf(' ', 1);
      const key = at < 0 ? ' ' : merge;
      if (!ranks.has(key)) ranks.set(key, rank);
    });
  }
  // Defaults past the vocabulary are dropped, as llama.cpp does; ids the file gives must lie inside it.
  const inRange = (id: number | null): number | null => (id !== null && id < n ? id : null);
  [bos, eos, unk] = [inRange(bos), inRange(eos), inRange(unk)];
  bos = tokenId(values, 'tokenizer.ggml.bos_token_id', n, path) ?? bos;
  eos = tokenId(values, 'tokenizer.ggml.eos_token_id', n, path) ?? eos;
  unk = tokenId(values, 'tokenizer.ggml.unknown_token_id', n, path) ?? unk;
  addBos = boolOf(values, 'tokenizer.ggml.add_bos_token', path) ?? addBos;
  const addEos = boolOf(values, 'tokenizer.ggml.add_eos_token', path) ?? false;
  addSpacePrefix = boolOf(values, 'tokenizer.ggml.add_space_prefix', path) ?? addSpacePrefix;
  if (addBos && bos === null) fail('asks for a BOS token (tokenizer.ggml.add_bos_token) but names none inside the vocabulary');
  if (addEos && eos === null) fail('asks for an EOS token (tokenizer.ggml.add_eos_token) but names none inside the vocabulary');
  return {
    path, model: model as GgufVocab['model'], pre, preTokenizer, tokens: tokens!, scores, types, ranks, ignoreMerges, bos, eos, unk, addBos, addEos, addSpacePrefix,
  };
}

function stringOf(values: Map<string, GgufValue>, key: string, path: string): string | undefined {
  const value = values.get(key);
  if (value === undefined) return undefined;
  if (value.kind !== 'scalar' || value.type !== 'string') throw new InputError(`${path}: ${key} must be a string, found ${describe(value)}`);
  return value.value as string;
}

function boolOf(values: Map<string, GgufValue>, key: string, path: string): boolean | undefined {
  const value = values.get(key);
  if (value === undefined) return undefined;
  if (value.kind !== 'scalar' || value.type !== 'bool') throw new InputError(`${path}: ${key} must be a bool, found ${describe(value)}`);
  return value.value as boolean;
}

/** A token id key: an unsigned integer below the vocabulary size. */
function tokenId(values: Map<string, GgufValue>, key: string, n: number, path: string): number | undefined {
  const value = values.get(key);
  if (value === undefined) return undefined;
  if (value.kind !== 'scalar' || !['uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'int32', 'int64'].includes(value.type)) {
    throw new InputError(`${path}: ${key} must be an integer token id, found ${describe(value)}`);
  }
  const id = Number(value.value);
  if (id < 0 || id >= n) throw new InputError(`${path}: ${key} is ${value.value}, outside the vocabulary of ${n} tokens`);
  return id;
}

function stringArray(values: Map<string, GgufValue>, key: string, path: string): string[] | undefined {
  const value = values.get(key);
  if (value === undefined) return undefined;
  if (value.kind !== 'array' || value.elementType !== 'string' || value.items === null) {
    throw new InputError(`${path}: ${key} must be an array of strings, found ${describe(value)}`);
  }
  return value.items.map((item) => (item.kind === 'scalar' ? String(item.value) : ''));
}

function numericArray(value: GgufValue, types: readonly string[], key: string, path: string): number[] {
  if (value.kind !== 'array' || !types.includes(value.elementType) || value.items === null) {
    throw new InputError(`${path}: ${key} must be an array of ${types.join(' or ')}, found ${describe(value)}`);
  }
  return value.items.map((item) => (item.kind === 'scalar' ? Number(item.value) : 0));
}

function describe(value: GgufValue): string {
  return value.kind === 'scalar' ? `a ${value.type}` : `an array of ${value.elementType}`;
}
