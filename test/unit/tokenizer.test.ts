// tokenizer.json through the tokenizers library: spans in UTF-16 offsets that line up with the text.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { TextTokenizer } from '../../src/compute/tokenizer';
import { InputError } from '../../src/errors';
import { ROOT, tempDir, writeTemp } from './helpers';

const SAMPLE = join(ROOT, 'samples', 'tiny-llama-kjv');

test('every token\'s span is the text it covers, in JavaScript string offsets, beyond the BMP too', async () => {
  const tokenizer = await TextTokenizer.load(SAMPLE);
  const text = 'The LORD is my shepherd; I shall not want. — naïve 😀 end';
  const spans = await tokenizer.encode(text);
  assert.ok(spans.length > 5);
  let covered = 0;
  for (const span of spans) {
    assert.equal(span.text, text.slice(span.start, span.end));
    assert.ok(span.start >= 0 && span.end <= text.length && span.start <= span.end);
    // Byte-level BPE: a character split over several tokens gives each of them the character's span.
    assert.ok(span.start === covered || span.start < covered, `gap before ${JSON.stringify(span.text)} at ${span.start}`);
    covered = Math.max(covered, span.end);
  }
  assert.equal(covered, text.length);
  const emoji = spans.filter((s) => s.text === '😀');
  assert.ok(emoji.length > 0 && emoji.every((s) => s.end - s.start === 2), 'the emoji spans its two UTF-16 units');
});

test('a directory without tokenizer.json, or with a broken one, is an input error naming it', async () => {
  const dir = tempDir();
  await assert.rejects(TextTokenizer.load(dir), (e: unknown) => e instanceof InputError && /no tokenizer\.json/.test(e.message));
  writeTemp(dir, 'tokenizer.json', '{"model": {"type": "BPE", "vocab": 3}}');
  await assert.rejects(TextTokenizer.load(dir), (e: unknown) => e instanceof InputError && /not a tokenizer the tokenizers library can load/.test(e.message));
});
