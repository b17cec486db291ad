// Seeded mutation fuzzing of the GGUF tokenizer's metadata reading: small SentencePiece and BPE vocabularies built
// here, mutated (bytes flipped, lengths and counts that lie, truncation), must either load and tokenize a text
// with valid ids, or fail with an InputError, never another exception. FUZZ_ITERATIONS / FUZZ_SEED as elsewhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GgufTokenizer } from '../../src/compute/ggufTokenizer';
import { InputError } from '../../src/errors';
import { arrayPayload, gguf, gstr, kv, kvString, kvU32, u32, VT } from '../fixtures/gguf/ggufBytes';
import { seededRandom } from '../fixtures/safetensorsWriter';
import { tempDir, writeTemp } from './helpers';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 600) / 2;
const SEED = Number(process.env.FUZZ_SEED ?? 20261203);
const WIDE = [0n, 1n, 2n, 255n, 65_535n, (1n << 32n) - 1n, 16_000_000n, 1n << 53n, (1n << 64n) - 1n];

const strings = (key: string, items: string[]) => kv(key, VT.array, Buffer.concat([arrayPayload(VT.string, items.length), ...items.map((s) => gstr(s))]));
const floats = (key: string, items: number[]) => kv(key, VT.array, Buffer.concat([arrayPayload(VT.float32, items.length), ...items.map((x) => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(x);
  return b;
})]));
const ints = (key: string, items: number[]) => kv(key, VT.array, Buffer.concat([arrayPayload(VT.int32, items.length), ...items.map((x) => u32(x))]));

function spmVocab(): Buffer {
  const bytes = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  const pieces = ['▁', 'a', 'b', 'ab', '▁a', '▁ab', 'c', '▁c'];
  const tokens = ['<unk>', '<s>', '</s>', ...bytes, ...pieces];
  return gguf({ kvs: [
    kvString('tokenizer.ggml.model', 'llama'), strings('tokenizer.ggml.tokens', tokens),
    floats('tokenizer.ggml.scores', tokens.map((_, i) => -i)), ints('tokenizer.ggml.token_type', tokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1))),
    kvU32('tokenizer.ggml.bos_token_id', 1), kvU32('tokenizer.ggml.eos_token_id', 2),
  ] });
}

function bpeVocab(): Buffer {
  const alphabet = ['a', 'b', 'c', 'Ġ', 'Ċ', '<|endoftext|>'];
  return gguf({ kvs: [
    kvString('tokenizer.ggml.model', 'gpt2'), kvString('tokenizer.ggml.pre', 'qwen2'),
    strings('tokenizer.ggml.tokens', [...alphabet, 'ab', 'Ġa', 'Ġab']), ints('tokenizer.ggml.token_type', [1, 1, 1, 1, 1, 3, 1, 1, 1]),
    strings('tokenizer.ggml.merges', ['a b', 'Ġ a', 'Ġa b']),
  ] });
}

function mutate(original: Buffer, random: () => number): Buffer {
  const bytes = Buffer.from(original);
  const pick = (n: number) => Math.floor(random() * n);
  switch (pick(4)) {
    case 0:
      for (let i = pick(6) + 1; i > 0; i--) bytes[pick(bytes.length)] = pick(256);
      return bytes;
    case 1:
      return bytes.subarray(0, pick(bytes.length));
    case 2:
      bytes.writeBigUInt64LE(WIDE[pick(WIDE.length)]!, pick(bytes.length - 8));
      return bytes;
    default:
      bytes.writeUInt32LE(pick(14), pick(bytes.length - 4)); // a value type, or a small id
      return bytes;
  }
}

test(`fuzz: ${ITERATIONS * 2} mutants of small GGUF vocabularies load and tokenize, or fail with InputError (seed ${SEED})`, async () => {
  const dir = tempDir();
  const originals = [{ name: 'spm', bytes: spmVocab() }, { name: 'bpe', bytes: bpeVocab() }];
  for (const { name, bytes } of originals) {
    const tokenizer = await GgufTokenizer.load(writeTemp(dir, `${name}.gguf`, bytes));
    assert.ok(tokenizer.tokenize('ab cab<|endoftext|>é').length > 0, `${name} is a working vocabulary before mutation`);
  }
  const random = seededRandom(SEED);
  let loaded = 0;
  for (let i = 0; i < ITERATIONS * 2; i++) {
    const original = originals[i % 2]!;
    const file = writeTemp(dir, 'mutant.gguf', mutate(original.bytes, random));
    const what = `iteration ${i} (seed ${SEED}, from ${original.name})`;
    try {
      const tokenizer = await GgufTokenizer.load(file);
      for (const span of tokenizer.tokenize('ab c ab\nabc <s>é😀')) {
        assert.ok(Number.isInteger(span.id) && span.id >= 0 && span.id < tokenizer.vocab.tokens.length, `${what}: id ${span.id}`);
      }
      loaded++;
    } catch (error) {
      if (!(error instanceof InputError)) assert.fail(`${what}: ${error instanceof Error ? error.stack : String(error)}`);
    }
  }
  assert.ok(loaded > 0 && loaded < ITERATIONS * 2, `some mutants load, some are refused (${loaded} loaded)`);
});
