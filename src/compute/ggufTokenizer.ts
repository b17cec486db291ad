// The tokenizer a GGUF file carries in its metadata, run the way llama.cpp runs it (src/llama-vocab.cpp), so that
// ids match what the model was trained and converted with:
//   - special tokens are cut out of the text first: user-defined ones always, control ones when parseSpecial;
//   - `llama` (SentencePiece): spaces become ▁, a space is put before the text (add_space_prefix), adjacent
//     pieces merge by highest score while the merged text is a token, and what never became a token is spelt in
//     <0xXX> byte tokens;
//   - `gpt2` (byte-level BPE): the pre-tokenizer named by tokenizer.ggml.pre cuts words, each word's UTF-8 bytes are
//     mapped to GPT-2's printable byte alphabet and merged by rank.
// BOS/EOS are added as tokenizer.ggml.add_bos_token/add_eos_token say, else as llama.cpp defaults for the vocab.
// Each token comes with the span of the original text it stands for, in UTF-16 offsets like TextTokenizer's; a
// character spelt in several byte tokens gives each of them the character's span.
// Not reproduced: llama.cpp's per-model lstrip/rstrip quirks for special tokens (Phi-3, Jina, ModernBERT by name).
import { InputError } from '../errors';
import { preTokenize } from './ggufPretokenize';
import { readGgufVocab, TOKEN_TYPE, type GgufVocab } from './ggufVocab';
import type { ModelTokenizer, TokenSpan } from './tokenizer';

export interface EncodeOptions {
  /** BOS/EOS as the vocabulary asks (llama.cpp's add_special). */
  addSpecial?: boolean;
  /** Control tokens written in the text are those tokens (llama.cpp's parse_special; HF tokenizers do the same). */
  parseSpecial?: boolean;
}

/** Part of the text: plain text still to tokenize, or a special token found in it. UTF-16 offsets. */
type Fragment = { start: number; end: number; token?: number };

const SPACE_MARK = '\u2581';

export class GgufTokenizer implements ModelTokenizer {
  private readonly ids = new Map<string, number>();
  /** Special tokens to cut out of texts, longest first (control and unknown only when parsing special tokens). */
  private readonly specials: number[] = [];
  private readonly byteToChar: string[] = gpt2ByteAlphabet();

  private constructor(readonly vocab: GgufVocab) {
    vocab.tokens.forEach((text, id) => this.ids.set(text, id)); // a repeated text maps to its last id, as in llama.cpp
    for (let id = 0; id < vocab.tokens.length; id++) {
      const type = vocab.types[id];
      if (type === TOKEN_TYPE.control || type === TOKEN_TYPE.userDefined || type === TOKEN_TYPE.unknown) this.specials.push(id);
    }
    const bytes = vocab.tokens.map((text) => Buffer.byteLength(text));
    this.specials.sort((a, b) => bytes[b]! - bytes[a]! || a - b);
  }

  get path(): string {
    return this.vocab.path;
  }

  static async load(path: string): Promise<GgufTokenizer> {
    return new GgufTokenizer(await readGgufVocab(path));
  }

  async encode(text: string): Promise<TokenSpan[]> {
    return this.tokenize(text);
  }

  tokenize(text: string, { addSpecial = true, parseSpecial = true }: EncodeOptions = {}): TokenSpan[] {
    const { vocab } = this;
    const spans: TokenSpan[] = [];
    const added = (id: number): TokenSpan => ({ id, text: '', start: 0, end: 0, special: true });
    if (addSpecial && vocab.addBos) spans.push(added(vocab.bos!));
    let previousSpecial = true; // SentencePiece puts its space before the text and after each special token
    for (const fragment of this.partition(text, parseSpecial)) {
      if (fragment.token !== undefined) {
        const type = vocab.types[fragment.token];
        spans.push({ id: fragment.token, text: text.slice(fragment.start, fragment.end), start: fragment.start, end: fragment.end, special: type !== TOKEN_TYPE.userDefined });
        previousSpecial = true;
        continue;
      }
      if (vocab.model === 'llama') this.sentencePiece(text, fragment, vocab.addSpacePrefix && previousSpecial, spans);
      else this.bytePairs(text, fragment, spans);
      previousSpecial = false;
    }
    if (addSpecial && vocab.addEos) spans.push(added(vocab.eos!));
    return spans;
  }

  /** llama.cpp's tokenizer_st_partition: each special token, longest first, cut out of the remaining text. */
  private partition(text: string, parseSpecial: boolean): Fragment[] {
    let fragments: Fragment[] = text.length > 0 ? [{ start: 0, end: text.length }] : [];
    for (const id of this.specials) {
      const type = this.vocab.types[id];
      if (!parseSpecial && (type === TOKEN_TYPE.control || type === TOKEN_TYPE.unknown)) continue;
      const needle = this.vocab.tokens[id]!;
      const next: Fragment[] = [];
      for (const fragment of fragments) {
        if (fragment.token !== undefined) {
          next.push(fragment);
          continue;
        }
        let from = fragment.start;
        for (;;) {
          const at = text.indexOf(needle, from);
          if (at < 0 || at + needle.length > fragment.end) break;
          if (at > from) next.push({ start: from, end: at });
          next.push({ start: at, end: at + needle.length, token: id });
          from = at + needle.length;
        }
        if (from < fragment.end) next.push({ start: from, end: fragment.end });
      }
      fragments = next;
    }
    return fragments;
  }

  /** SentencePiece-style: merge adjacent pieces by highest score (ties: leftmost) while the result is a token. */
  private sentencePiece(text: string, fragment: Fragment, prefix: boolean, spans: TokenSpan[]): void {
    // Replacing ' ' by '▁' keeps UTF-16 lengths, so work[i] is text[fragment.start + i - (prefix ? 1 : 0)].
    const work = ((prefix ? ' ' : '') + wellFormed(text.slice(fragment.start, fragment.end))).replaceAll(' ', SPACE_MARK);
    const shift = fragment.start - (prefix ? 1 : 0);
    const origin = (i: number): number => Math.max(fragment.start, i + shift);
    const symbols = codePointSymbols(work);
    const revMerge = new Map<string, [number, number]>();
    const queue = new Heap<{ left: number; right: number; score: number; size: number }>(
      (a, b) => a.score > b.score || (a.score === b.score && a.left < b.left),
    );
    const tryPair = (left: number, right: number): void => {
      if (left < 0 || right < 0) return;
      const pair = work.slice(symbols.at[left]!, symbols.at[right]! + symbols.n[right]!);
      const id = this.ids.get(pair);
      if (id === undefined) return;
      queue.push({ left, right, score: this.vocab.scores[id]!, size: pair.length });
      revMerge.set(pair, [left, right]);
    };
    mergeBest(symbols, queue, tryPair);
    const emit = (id: number, from: number, to: number): void => {
      const start = origin(from);
      const end = Math.max(start, origin(to));
      spans.push({ id, text: text.slice(start, end), start, end, special: false });
    };
    for (let i = symbols.count > 0 ? 0 : -1; i !== -1; i = symbols.next[i]!) {
      // Resegmentation with an explicit stack: a piece that is no token splits back into the pair that made it.
      const stack = [i];
      while (stack.length > 0) {
        const s = stack.pop()!;
        const from = symbols.at[s]!;
        const to = from + symbols.n[s]!;
        const piece = work.slice(from, to);
        const id = this.ids.get(piece);
        if (id !== undefined) {
          emit(id, from, to);
          continue;
        }
        const parts = revMerge.get(piece);
        if (parts !== undefined) {
          stack.push(parts[1], parts[0]);
          continue;
        }
        for (const byte of Buffer.from(piece, 'utf8')) emit(this.spmByte(byte), from, to);
      }
    }
  }

  /** llama.cpp's byte_to_token for SentencePiece: <0xXX>, else the byte as a one-character token. */
  private spmByte(byte: number): number {
    const hex = `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
    const id = this.ids.get(hex) ?? (byte < 0x80 ? this.ids.get(String.fromCharCode(byte)) : undefined) ?? this.vocab.unk;
    if (id === null || id === undefined) {
      throw new InputError(`${this.vocab.path}: the text needs byte ${hex}, which the vocabulary has no token for (and no unknown token)`);
    }
    return id;
  }

  /** Byte-level BPE: per pre-tokenized word, merge adjacent pieces by lowest merge rank (ties: leftmost). */
  private bytePairs(text: string, fragment: Fragment, spans: TokenSpan[]): void {
    const { cps, starts } = codePoints(wellFormed(text.slice(fragment.start, fragment.end)), fragment.start);
    for (const [wordStart, wordEnd] of preTokenize(this.vocab.preTokenizer, cps, 0, cps.length)) {
      // One symbol per UTF-8 byte, each remembering the character it came from.
      let work = '';
      const byteStart: number[] = [];
      const byteEnd: number[] = [];
      for (let c = wordStart; c < wordEnd; c++) {
        for (const byte of Buffer.from(String.fromCodePoint(cps[c]!), 'utf8')) {
          work += this.byteToChar[byte]!;
          byteStart.push(starts[c]!);
          byteEnd.push(starts[c + 1]!);
        }
      }
      const emit = (id: number, from: number, to: number): void => {
        const start = byteStart[from]!;
        const end = byteEnd[to - 1]!;
        spans.push({ id, text: text.slice(start, end), start, end, special: false });
      };
      const whole = this.vocab.ignoreMerges ? this.ids.get(work) : undefined;
      if (whole !== undefined) {
        emit(whole, 0, work.length);
        continue;
      }
      const symbols = unitSymbols(work.length);
      const queue = new Heap<{ left: number; right: number; rank: number; size: number }>(
        (a, b) => a.rank < b.rank || (a.rank === b.rank && a.left < b.left),
      );
      const tryPair = (left: number, right: number): void => {
        if (left < 0 || right < 0) return;
        const a = symbols.at[left]!;
        const b = symbols.at[right]!;
        const rank = this.vocab.ranks.get(`${work.slice(a, b)} ${work.slice(b, b + symbols.n[right]!)}`);
        if (rank !== undefined) queue.push({ left, right, rank, size: symbols.n[left]! + symbols.n[right]! });
      };
      mergeBest(symbols, queue, tryPair);
      for (let i = symbols.count > 0 ? 0 : -1; i !== -1; i = symbols.next[i]!) {
        const from = symbols.at[i]!;
        const to = from + symbols.n[i]!;
        const id = this.ids.get(work.slice(from, to));
        if (id !== undefined) {
          emit(id, from, to);
          continue;
        }
        // llama.cpp looks each byte of the piece's UTF-8 up as a one-byte token: only ASCII ones can be found,
        // the rest are dropped (it does the same).
        for (let k = from; k < to; k++) {
          const single = work.charCodeAt(k) < 0x80 ? this.ids.get(work[k]!) : undefined;
          if (single !== undefined) emit(single, k, k + 1);
        }
      }
    }
  }
}

/** Lone surrogates become U+FFFD, as they do when a JavaScript string is written as UTF-8. */
function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** Code points of `text` and the UTF-16 offset of each (plus one past the end), shifted by `base`. */
function codePoints(text: string, base: number): { cps: number[]; starts: number[] } {
  const cps: number[] = [];
  const starts: number[] = [];
  let at = base;
  for (const char of text) {
    cps.push(char.codePointAt(0)!);
    starts.push(at);
    at += char.length;
  }
  starts.push(at);
  return { cps, starts };
}

/** A doubly linked list of adjacent pieces of a string: offset and length (UTF-16 units; 0 once merged away). */
interface Symbols {
  count: number;
  at: number[];
  n: number[];
  prev: number[];
  next: number[];
  merge(left: number, right: number): void;
}

/**
 * Both tokenizers' merge loop: queue every adjacent pair, then merge the best pair still valid (a queued pair is
 * stale once either side merged elsewhere: its size no longer matches) and queue the pairs it makes with its
 * neighbours. SPM ranks pairs by score, BPE by merge rank; the queue's order says which.
 */
function mergeBest<P extends { left: number; right: number; size: number }>(symbols: Symbols, queue: Heap<P>, tryPair: (left: number, right: number) => void): void {
  for (let i = 1; i < symbols.count; i++) tryPair(i - 1, i);
  for (let pair = queue.pop(); pair !== undefined; pair = queue.pop()) {
    const { left, right } = pair;
    if (symbols.n[left] === 0 || symbols.n[right] === 0 || symbols.n[left]! + symbols.n[right]! !== pair.size) continue;
    symbols.merge(left, right);
    tryPair(symbols.prev[left]!, left);
    tryPair(left, symbols.next[left]!);
  }
}

function symbolList(lengths: number[]): Symbols {
  const count = lengths.length;
  const at: number[] = [];
  let offset = 0;
  for (const length of lengths) {
    at.push(offset);
    offset += length;
  }
  const prev = lengths.map((_, i) => i - 1);
  const next = lengths.map((_, i) => (i + 1 < count ? i + 1 : -1));
  return {
    count, at, n: lengths, prev, next,
    merge(left, right) {
      lengths[left]! += lengths[right]!;
      lengths[right] = 0;
      next[left] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = left;
    },
  };
}

function codePointSymbols(work: string): Symbols {
  return symbolList([...work].map((char) => char.length));
}

function unitSymbols(length: number): Symbols {
  return symbolList(new Array<number>(length).fill(1));
}

/** GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others for code points from U+0100 on. */
function gpt2ByteAlphabet(): string[] {
  const table: string[] = new Array(256);
  let extra = 0;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    table[byte] = String.fromCodePoint(printable ? byte : 256 + extra++);
  }
  return table;
}

/** A binary heap; `before(a, b)` says a comes out first. */
class Heap<T> {
  private readonly items: T[] = [];
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  push(item: T): void {
    const { items } = this;
    items.push(item);
    for (let i = items.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!this.before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const { items } = this;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < items.length && this.before(items[l]!, items[best]!)) best = l;
        if (r < items.length && this.before(items[r]!, items[best]!)) best = r;
        if (best === i) break;
        [items[i], items[best]] = [items[best]!, items[i]!];
        i = best;
      }
    }
    return top;
  }
}
