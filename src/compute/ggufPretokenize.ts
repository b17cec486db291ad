// The pre-tokenizers of llama.cpp's byte-level BPE vocabularies (`tokenizer.ggml.pre`): a text's code points cut
// into words before the merges run. Written from llama.cpp's hand-coded splitters (src/unicode.cpp,
// unicode_regex_split_custom_gpt2 / _llama3 / _qwen2), not from the regexes they stand for, because their
// outcome is what GGUF models were tokenized with: e.g. a lone whitespace before a letter is its own word, and
// code points with no Unicode category (unassigned) never join a punctuation run. Categories come from the
// JavaScript engine's Unicode tables; llama.cpp's are generated from its own copy of UnicodeData, so a code point
// assigned in one Unicode version and not the other may split differently.

/** Word boundaries as lengths in code points, in order, covering the piece they split. */
type Split = (cps: readonly number[], from: number, to: number, out: number[]) => void;

const LETTER = /\p{L}/u;
const NUMBER = /\p{N}/u;
const MARK = /\p{M}/u;
const UNASSIGNED = /\p{Cn}/u;
const PUNCTUATION_RUN = /[\p{P}$+<=>^~|]+/gu;
const FALCON_PUNCTUATION_RUN = /[\p{P}$+<=>^~|`]+/gu;
const DIGIT = /\p{N}/gu;
const DIGITS_RUN = /\p{N}+/gu;
const THREE_DIGITS = /[0-9][0-9][0-9]/gu;

/** Unicode White_Space, as llama.cpp's unicode_set_whitespace lists it (JavaScript's \s differs: U+FEFF, U+0085). */
function isSpace(cp: number): boolean {
  return (cp >= 0x09 && cp <= 0x0d) || cp === 0x20 || cp === 0x85 || cp === 0xa0 || cp === 0x1680
    || (cp >= 0x2000 && cp <= 0x200a) || cp === 0x2028 || cp === 0x2029 || cp === 0x202f || cp === 0x205f || cp === 0x3000;
}

interface Flags { letter: boolean; number: boolean; mark: boolean; space: boolean; /** has a Unicode category at all */ any: boolean }
const NONE: Flags = { letter: false, number: false, mark: false, space: false, any: false };
const flagCache = new Map<number, Flags>();

function flagsOf(cp: number): Flags {
  let flags = flagCache.get(cp);
  if (flags === undefined) {
    const char = String.fromCodePoint(cp);
    flags = { letter: LETTER.test(char), number: NUMBER.test(char), mark: MARK.test(char), space: isSpace(cp), any: isSpace(cp) || !UNASSIGNED.test(char) };
    if (flagCache.size < 65536) flagCache.set(cp, flags);
  }
  return flags;
}

/** llama.cpp lower-cases the letter after an apostrophe; only ASCII letters can then match s t m d re ve ll. */
function lowerAscii(cp: number): number {
  return cp >= 0x41 && cp <= 0x5a ? cp + 32 : cp;
}

const APOSTROPHE = 0x27;
const SPACE = 0x20;
const CR = 0x0d;
const LF = 0x0a;
const s = 0x73, t = 0x74, m = 0x6d, d = 0x64, r = 0x72, e = 0x65, v = 0x76, l = 0x6c;

/** Length of a contraction ('s 't 're 've 'm 'll 'd) at `pos`, 0 when there is none. */
function contraction(cps: readonly number[], pos: number, end: number, fold: boolean): number {
  if (cps[pos] !== APOSTROPHE || pos + 1 >= end) return 0;
  const next = fold ? lowerAscii(cps[pos + 1]!) : cps[pos + 1]!;
  if (next === s || next === t || next === m || next === d) return 2;
  if (pos + 2 >= end) return 0;
  const after = fold ? lowerAscii(cps[pos + 2]!) : cps[pos + 2]!;
  return (next === r && after === e) || (next === v && after === e) || (next === l && after === l) ? 3 : 0;
}

/** GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S), the rest as words of its own. */
const splitGpt2: Split = (cps, from, to, out) => {
  const flags = (pos: number): Flags => (pos >= from && pos < to ? flagsOf(cps[pos]!) : NONE);
  let prev = from;
  const add = (end: number): number => {
    const length = end - prev;
    if (length > 0) out.push(length);
    prev = end;
    return length;
  };
  for (let pos = from; pos < to;) {
    const cp = cps[pos]!;
    const c = contraction(cps, pos, to, false);
    if (c > 0) {
      pos += add(pos + c);
      continue;
    }
    let f = cp === SPACE ? flags(pos + 1) : flags(pos);
    if (f.letter || f.number) {
      const want = f.letter ? 'letter' : 'number';
      pos += cp === SPACE ? 1 : 0;
      while (f[want]) f = flags(++pos);
      add(pos);
      continue;
    }
    if (!(f.space || f.letter || f.number) && f.any) {
      pos += cp === SPACE ? 1 : 0;
      while (!(f.space || f.letter || f.number) && f.any) f = flags(++pos);
      add(pos);
      continue;
    }
    let spaces = 0;
    while (flags(pos + spaces).space) spaces++;
    if (spaces > 1 && pos + spaces < to) {
      pos += spaces - 1; // \s+(?!\S): the last space goes with the word after it
      add(pos);
      continue;
    }
    if (spaces > 0) {
      pos += spaces;
      add(pos);
      continue;
    }
    add(++pos);
  }
};

/**
 * Llama 3 (digits in runs of up to three) and Qwen2 (single digits):
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * Qwen3.5 (`marks`) reads \p{L} there as [\p{L}\p{M}]: combining marks stay in their word.
 */
function splitLlama3Like(maxDigits: number, marks = false): Split {
  return (cps, from, to, out) => {
    const plain = (pos: number): Flags => (pos >= from && pos < to ? flagsOf(cps[pos]!) : NONE);
    // With marks, a mark counts as a letter everywhere the pattern says \p{L}.
    const flags = marks ? (pos: number): Flags => {
      const f = plain(pos);
      return f.mark && !f.letter ? { ...f, letter: true } : f;
    } : plain;
    const at = (pos: number): number => (pos >= from && pos < to ? cps[pos]! : -1);
    let prev = from;
    const add = (end: number): number => {
      const length = end - prev;
      if (length > 0) out.push(length);
      prev = end;
      return length;
    };
    for (let pos = from; pos < to;) {
      const cp = cps[pos]!;
      const f = flags(pos);
      const c = contraction(cps, pos, to, true);
      if (c > 0) {
        pos += add(pos + c);
        continue;
      }
      if (!(cp === CR || cp === LF || f.number) && (f.letter || flags(pos + 1).letter)) {
        pos++;
        while (flags(pos).letter) pos++;
        add(pos);
        continue;
      }
      if (f.number) {
        let start = pos;
        while (flags(pos).number) {
          if (++pos - start >= maxDigits) {
            add(pos);
            start = pos;
          }
        }
        add(pos);
        continue;
      }
      let f2 = cp === SPACE ? flags(pos + 1) : f;
      // llama.cpp tests the category of the code point itself here (flags, not flags2): kept as it is.
      if (!(f2.space || f2.letter || f2.number) && f.any) {
        pos += cp === SPACE ? 1 : 0;
        while (!(f2.space || f2.letter || f2.number) && f2.any) f2 = flags(++pos);
        while (at(pos) === CR || at(pos) === LF) pos++;
        add(pos);
        continue;
      }
      let spaces = 0;
      let lastNewlineEnd = 0;
      while (flags(pos + spaces).space) {
        const c2 = at(pos + spaces);
        if (c2 === CR || c2 === LF) lastNewlineEnd = pos + spaces + 1;
        spaces++;
      }
      if (lastNewlineEnd > 0) {
        pos = lastNewlineEnd;
        add(pos);
        continue;
      }
      if (spaces > 1 && pos + spaces < to) {
        pos += spaces - 1;
        add(pos);
        continue;
      }
      if (spaces > 0) {
        pos += spaces;
        add(pos);
        continue;
      }
      add(++pos);
    }
  };
}

/** A plain regular expression as llama.cpp's std::regex fallback applies it: matches and the gaps between them. */
function splitByRegex(pattern: RegExp): Split {
  return (cps, from, to, out) => {
    const piece = cps.slice(from, to).map((cp) => String.fromCodePoint(cp)).join('');
    let done = 0; // in code points
    let doneUnits = 0;
    const lengthIn = (units: number): number => [...piece.slice(doneUnits, doneUnits + units)].length;
    pattern.lastIndex = 0;
    for (let match = pattern.exec(piece); match !== null; match = pattern.exec(piece)) {
      if (match[0].length === 0) {
        pattern.lastIndex++;
        continue;
      }
      const gap = lengthIn(match.index - doneUnits);
      if (gap > 0) out.push(gap);
      doneUnits = match.index;
      const length = lengthIn(match[0].length);
      out.push(length);
      done += gap + length;
      doneUnits = match.index + match[0].length;
    }
    if (to - from - done > 0) out.push(to - from - done);
  };
}

export type PreTokenizer = 'default' | 'gpt-2' | 'llama3' | 'qwen2' | 'qwen35' | 'starcoder' | 'falcon';

const SPLITS: Readonly<Record<PreTokenizer, readonly Split[]>> = {
  // llama.cpp's fallback for BPE vocabularies with no (or the "default") pre-tokenizer: four splits in turn.
  default: [splitByRegex(PUNCTUATION_RUN), splitGpt2, splitByRegex(DIGITS_RUN), splitByRegex(THREE_DIGITS)],
  'gpt-2': [splitGpt2],
  llama3: [splitLlama3Like(3)],
  qwen2: [splitLlama3Like(1)],
  qwen35: [splitLlama3Like(1, true)],
  // StarCoder, Refact, Command-R and kin: every digit alone, then GPT-2's split.
  starcoder: [splitByRegex(DIGIT), splitGpt2],
  falcon: [splitByRegex(FALCON_PUNCTUATION_RUN), splitGpt2, splitByRegex(THREE_DIGITS)],
};

/** The words of `cps[from, to)` as [start, end) code point ranges. */
export function preTokenize(kind: PreTokenizer, cps: readonly number[], from: number, to: number): Array<[number, number]> {
  let lengths = [to - from];
  for (const split of SPLITS[kind]) {
    const next: number[] = [];
    let start = from;
    for (const length of lengths) {
      split(cps, start, start + length, next);
      start += length;
    }
    lengths = next;
  }
  const words: Array<[number, number]> = [];
  let start = from;
  for (const length of lengths) {
    words.push([start, start + length]);
    start += length;
  }
  return words;
}
