// The tokenizer built from a GGUF file's metadata, against llama.cpp's own test vectors (models/ggml-vocab-*.gguf
// with .inp/.out, copied unchanged: see test/fixtures/gguf/README.md): every input must give exactly llama.cpp's
// ids. test-tokenizer-0 tokenizes with add_special = false and parse_special = false, and so do these checks.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { preTokenize, type PreTokenizer } from '../../src/compute/ggufPretokenize';
import { GgufTokenizer } from '../../src/compute/ggufTokenizer';
import { loadModelTokenizer } from '../../src/compute/modelTokenizer';
import { seededRandom } from '../../src/compute/random';
import { InputError } from '../../src/errors';
import { arrayPayload, gguf, GGUF_FIXTURES, gstr, kv, kvString, kvU32, u32, VT } from '../fixtures/gguf/ggufBytes';
import { DIST, tempDir, writeTemp } from './helpers';

const fixture = (name: string): string => join(GGUF_FIXTURES, name);

/** llama.cpp's read_tests: inputs separated by "\n__ggml_vocab_test__\n", one line of space-separated ids each. */
function vectors(vocab: string): Array<[string, number[]]> {
  const raw = readFileSync(fixture(`${vocab}.inp`), 'utf8');
  const inputs: string[] = [];
  const sep = '\n__ggml_vocab_test__\n';
  for (let pos = 0; pos < raw.length;) {
    const next = raw.indexOf(sep, pos);
    if (next < 0) {
      inputs.push(raw.slice(pos));
      break;
    }
    inputs.push(raw.slice(pos, next));
    pos = next + sep.length;
  }
  const outputs = readFileSync(fixture(`${vocab}.out`), 'utf8').split('\n');
  if (outputs[outputs.length - 1] === '') outputs.pop();
  assert.equal(inputs.length, outputs.length, `${vocab}: as many inputs as outputs`);
  return inputs.map((input, i) => [input, outputs[i]!.trim() === '' ? [] : outputs[i]!.trim().split(' ').map(Number)]);
}

for (const vocab of ['ggml-vocab-llama-spm.gguf', 'ggml-vocab-gpt-2.gguf', 'ggml-vocab-qwen2.gguf']) {
  test(`${vocab}: every llama.cpp test input gives llama.cpp's ids, and spans that cover the text in order`, async () => {
    const tokenizer = await GgufTokenizer.load(fixture(vocab));
    const cases = vectors(vocab);
    assert.ok(cases.length > 30);
    for (const [input, expected] of cases) {
      const spans = tokenizer.tokenize(input, { addSpecial: false, parseSpecial: false });
      assert.deepEqual(spans.map((s) => s.id), expected, `input ${JSON.stringify(input)}`);
      let covered = 0;
      for (const span of spans) {
        assert.equal(span.text, input.slice(span.start, span.end));
        assert.ok(span.start <= covered && span.end >= span.start, `span of ${span.id} in ${JSON.stringify(input)} starts at ${span.start}, after ${covered}`);
        covered = Math.max(covered, span.end);
      }
      assert.equal(covered, input.length, `spans cover ${JSON.stringify(input)}`);
    }
  });
}

test('BOS as the file says or as llama.cpp defaults: SentencePiece adds it, gpt-2 and qwen2 (no add_bos_token) do not', async () => {
  const spm = await GgufTokenizer.load(fixture('ggml-vocab-llama-spm.gguf'));
  assert.equal(spm.vocab.addBos, true);
  const withBos = await spm.encode('Hello world');
  assert.deepEqual(withBos.map((s) => s.id), [1, 15043, 3186]);
  assert.deepEqual(withBos[0], { id: 1, text: '', start: 0, end: 0, special: true });
  // "▁Hello" stands for "Hello" (the ▁ is the space SentencePiece puts before the text), "▁world" for " world".
  assert.deepEqual(withBos.slice(1).map((s) => [s.start, s.end]), [[0, 5], [5, 11]]);
  for (const name of ['ggml-vocab-gpt-2.gguf', 'ggml-vocab-qwen2.gguf']) {
    const bpe = await GgufTokenizer.load(fixture(name));
    assert.equal(bpe.vocab.addBos, false, name);
    assert.deepEqual((await bpe.encode('Hello')).map((s) => s.special), [false], name);
  }
});

test('control tokens written in the text are those tokens when parsing special tokens, plain text otherwise', async () => {
  const qwen = await GgufTokenizer.load(fixture('ggml-vocab-qwen2.gguf'));
  const eot = qwen.vocab.tokens.indexOf('<|endoftext|>');
  assert.ok(eot > 0);
  const parsed = qwen.tokenize('Hi<|endoftext|>there');
  assert.deepEqual(parsed.map((s) => [s.text, s.special]), [['Hi', false], ['<|endoftext|>', true], ['there', false]]);
  assert.equal(parsed[1]!.id, eot);
  const plain = qwen.tokenize('Hi<|endoftext|>there', { parseSpecial: false });
  assert.ok(!plain.some((s) => s.id === eot) && plain.length > 3);
});

test('characters beyond the BMP and byte fallback: every byte token spans its whole character', async () => {
  const spm = await GgufTokenizer.load(fixture('ggml-vocab-llama-spm.gguf'));
  const text = 'a 𝄞 b';
  const spans = spm.tokenize(text, { addSpecial: false });
  const clef = spans.filter((s) => s.text.includes('𝄞'));
  assert.ok(clef.length >= 1);
  for (const s of clef) assert.equal(text.slice(s.start, s.end).replace(' ', ''), '𝄞');
});

test('a .gguf model gets the tokenizer from its metadata; a directory keeps tokenizer.json', async () => {
  const path = fixture('ggml-vocab-gpt-2.gguf');
  const tokenizer = await loadModelTokenizer({ path, directory: GGUF_FIXTURES });
  assert.ok(tokenizer instanceof GgufTokenizer);
  assert.equal(tokenizer.path, path);
});

const tokens = (...texts: string[]): Buffer => kv('tokenizer.ggml.tokens', VT.array, Buffer.concat([arrayPayload(VT.string, texts.length), ...texts.map((t) => gstr(t))]));

test('hostile or unsupported tokenizer metadata is an input error naming the file and the key', async () => {
  const dir = tempDir();
  const cases: Array<[string, Buffer[], RegExp]> = [
    ['no-model', [tokens('a')], /no tokenizer\.ggml\.model/],
    ['bert', [kvString('tokenizer.ggml.model', 'bert'), tokens('a')], /tokenizer\.ggml\.model is 'bert'/],
    ['model-not-string', [kvU32('tokenizer.ggml.model', 3), tokens('a')], /tokenizer\.ggml\.model must be a string/],
    ['no-tokens', [kvString('tokenizer.ggml.model', 'llama')], /no tokenizer\.ggml\.tokens/],
    ['unknown-pre', [kvString('tokenizer.ggml.model', 'gpt2'), kvString('tokenizer.ggml.pre', 'made-up'), tokens('a'),
      kv('tokenizer.ggml.merges', VT.array, arrayPayload(VT.string, 0))], /tokenizer\.ggml\.pre is 'made-up'/],
    ['no-merges', [kvString('tokenizer.ggml.model', 'gpt2'), kvString('tokenizer.ggml.pre', 'gpt-2'), tokens('a')], /without tokenizer\.ggml\.merges/],
    ['short-scores', [kvString('tokenizer.ggml.model', 'llama'), tokens('a', 'b'),
      kv('tokenizer.ggml.scores', VT.array, Buffer.concat([arrayPayload(VT.float32, 1), Buffer.alloc(4)]))], /scores has 1 entries for 2 tokens/],
    ['bos-outside', [kvString('tokenizer.ggml.model', 'llama'), tokens('a', 'b'), kvU32('tokenizer.ggml.bos_token_id', 7)], /bos_token_id is 7, outside the vocabulary of 2/],
    ['bos-needed', [kvString('tokenizer.ggml.model', 'llama'), tokens('a')], /asks for a BOS token/],
    ['lying-array', [kvString('tokenizer.ggml.model', 'llama'), kv('tokenizer.ggml.tokens', VT.array, arrayPayload(VT.string, 1_000_000))], /needs|refused/],
    ['huge-array', [kvString('tokenizer.ggml.model', 'llama'), kv('tokenizer.ggml.tokens', VT.array, arrayPayload(VT.string, 3_000_000))], /tokenizer\.ggml\.tokens' has 3000000 elements; more than 2000000 are not read whole/],
    ['types-wrong', [kvString('tokenizer.ggml.model', 'llama'), tokens('a', 'b', 'c'),
      kv('tokenizer.ggml.token_type', VT.array, Buffer.concat([arrayPayload(VT.uint32, 1), u32(1)]))], /token_type must be an array of int32/],
  ];
  for (const [name, kvs, message] of cases) {
    const path = writeTemp(dir, `${name}.gguf`, gguf({ kvs }));
    await assert.rejects(GgufTokenizer.load(path), (e: unknown) => e instanceof InputError && e.message.startsWith(`${path}: `) && message.test(e.message), name);
  }
});

test('CLI: tokenize MODEL.gguf --json gives the ids and spans; a tokenizer it cannot build exits 2 with one line', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(DIST, 'cli.js'), 'tokenize', ...args], { encoding: 'utf8' });
  const ok = cli(fixture('ggml-vocab-llama-spm.gguf'), '--text', 'Hello world', '--json');
  assert.equal(ok.status, 0, ok.stderr);
  const doc = JSON.parse(ok.stdout) as { tokens: Array<{ id: number; start: number; end: number }> };
  assert.deepEqual(doc.tokens.map((t) => [t.id, t.start, t.end]), [[1, 0, 0], [15043, 0, 5], [3186, 5, 11]]);
  const bert = cli(fixture('ggml-vocab-bert-bge.gguf'), '--text', 'a');
  assert.equal(bert.status, 2);
  assert.match(bert.stderr, /^importance-lens: .*ggml-vocab-bert-bge\.gguf: tokenizer\.ggml\.model is 'bert'[^\n]*\n$/);
  assert.equal(cli(fixture('ggml-vocab-gpt-2.gguf')).status, 2);
});

test('pre-tokenizers (gpt-2, llama3, qwen2, qwen35, starcoder, falcon, default) cut words as the original regular expressions do (Python regex golden)', () => {
  const golden = JSON.parse(readFileSync(fixture('pretokenizer-golden.json'), 'utf8')) as { splits: Record<PreTokenizer, Array<{ text: string; words: string[] }>> };
  for (const [kind, rows] of Object.entries(golden.splits) as Array<[PreTokenizer, Array<{ text: string; words: string[] }>]>) {
    assert.ok(rows.length > 30, kind);
    for (const { text, words } of rows) {
      const cps = [...text].map((c) => c.codePointAt(0)!);
      const got = preTokenize(kind, cps, 0, cps.length).map(([a, b]) => String.fromCodePoint(...cps.slice(a, b)));
      assert.deepEqual(got, words, `${kind}: ${JSON.stringify(text)}`);
    }
  }
});

test('random texts (mixed scripts, emoji, lone surrogates, special-token text): spans in order that cover the text', async () => {
  const pieces = ['a', 'Z', ' ', '  ', '\n', '\r\n', '\t', '7', '42', '１', "'s", "'LL", '.', '!?', 'é', 'ß', 'Ж', '中文', 'ひ', '한', '🦙', '👍🏽', '\u00a0', '\u3000',
    '\uD800', '\uDC00', '<|endoftext|>', '<s>', '</s>', '<|im_start|>', '▁', '<0x41>', 'Ġ', '\u0000', '\u200d'];
  const random = seededRandom(14);
  for (const name of ['ggml-vocab-llama-spm.gguf', 'ggml-vocab-gpt-2.gguf', 'ggml-vocab-qwen2.gguf']) {
    const tokenizer = await GgufTokenizer.load(fixture(name));
    for (let round = 0; round < 200; round++) {
      let text = '';
      const length = Math.floor(random() * 24);
      for (let i = 0; i < length; i++) text += pieces[Math.floor(random() * pieces.length)]!;
      for (const parseSpecial of [true, false]) {
        const spans = tokenizer.tokenize(text, { addSpecial: false, parseSpecial });
        let covered = 0;
        for (const span of spans) {
          assert.ok(Number.isInteger(span.id) && span.id >= 0 && span.id < tokenizer.vocab.tokens.length, `${name}: id ${span.id}`);
          assert.ok(span.start <= covered && span.start <= span.end && span.end <= text.length, `${name}: span ${span.start}-${span.end} after ${covered} in ${JSON.stringify(text)}`);
          covered = Math.max(covered, span.end);
        }
        assert.equal(covered, text.length, `${name}: ${JSON.stringify(text)} covered`);
      }
    }
  }
});
