// tokenizer.json through Hugging Face's own tokenizers library (the Rust implementation, as the `tokenizers` npm
// package), so ids are exactly what transformers would give. Offsets come back in Unicode code points; they are
// turned into UTF-16 offsets here, which is what JavaScript strings and VS Code positions count.
import { join } from 'node:path';
import type { Tokenizer } from 'tokenizers';
import { InputError } from '../errors';
import { openForReading } from '../formats/fileio';

/** tokenizer.json files of real models reach ~20 MB (large vocabularies with merges); more is refused. */
export const MAX_TOKENIZER_BYTES = 64 * 2 ** 20;

export interface TokenSpan {
  id: number;
  /** The text the token covers (empty for special tokens the post-processor adds). */
  text: string;
  /** UTF-16 offsets into the encoded text. */
  start: number;
  end: number;
  special: boolean;
}

/** What the activation analyses need of a tokenizer: ids with the spans of text they stand for. */
export interface ModelTokenizer {
  /** The file the tokenizer was read from. */
  readonly path: string;
  /** Token ids with special tokens where the model adds them, and each token's span of `text`. */
  encode(text: string): Promise<TokenSpan[]>;
}

export class TextTokenizer implements ModelTokenizer {
  private constructor(private readonly tokenizer: Tokenizer, readonly path: string) {}

  static async load(directory: string): Promise<TextTokenizer> {
    const path = join(directory, 'tokenizer.json');
    let size: number;
    try {
      const opened = await openForReading(path);
      size = opened.size;
      await opened.handle.close();
    } catch {
      throw new InputError(`${directory}: no tokenizer.json; the activation analyses need the model's tokenizer (save it with tokenizer.save_pretrained)`);
    }
    if (size > MAX_TOKENIZER_BYTES) throw new InputError(`${path}: ${size} bytes; tokenizer files over ${MAX_TOKENIZER_BYTES} bytes are refused`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Tokenizer: Native } = require('tokenizers') as typeof import('tokenizers');
    try {
      return new TextTokenizer(Native.fromFile(path), path);
    } catch (error) {
      // The library glues its context to the cause ("Error loading from fileOniguruma error: ..."): split them.
      const cause = (error as Error).message.replace(/^Error loading from file(?=\S)/, 'error loading from file: ');
      throw new InputError(`${path}: not a tokenizer the tokenizers library can load: ${cause}`);
    }
  }

  /** Token ids with special tokens where the post-processor adds them, and each token's span of `text`. */
  async encode(text: string): Promise<TokenSpan[]> {
    const encoding = await this.tokenizer.encode(text, null, { addSpecialTokens: true });
    const ids = encoding.getIds();
    const offsets = encoding.getOffsets();
    const special = encoding.getSpecialTokensMask();
    const utf16 = codePointToUtf16(text);
    return ids.map((id, i) => {
      const [from, to] = offsets[i] ?? [0, 0];
      const start = utf16[Math.min(from!, utf16.length - 1)]!;
      const end = utf16[Math.min(to!, utf16.length - 1)]!;
      return { id, text: text.slice(start, end), start, end, special: special[i] === 1 };
    });
  }
}

/** utf16[i] = UTF-16 index of code point i; one entry past the end. */
function codePointToUtf16(text: string): number[] {
  const map: number[] = [];
  let index = 0;
  for (const char of text) {
    map.push(index);
    index += char.length;
  }
  map.push(index);
  return map;
}
