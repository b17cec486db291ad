// Text from hostile files reaching the terminal: tensor names, CSV headers and error messages quoting them are
// printed with their control characters as visible escapes (text mode and stderr), JSON keeps the same values with
// nothing raw; and the messages the hostile-input campaign found unclear (a missing dtype, CSV errors without the
// file, the tokenizers library's glued "Error loading from fileOniguruma error").
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { escapeControls, escapeControlsInJson, table } from '../../src/cli/terminalText';
import { TextTokenizer } from '../../src/compute/tokenizer';
import { InputError } from '../../src/errors';
import { rawSafetensors } from '../fixtures/safetensorsWriter';
import { DIST, ROOT, tempDir, writeTemp } from './helpers';

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
/** Any character a terminal acts on besides a newline. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/;
const RED = 'model.layers.0.\x1b[31mq_proj\u009b2J\u202e.weight';
const RED_SHOWN = 'model.layers.0.\\x1b[31mq_proj\\x9b2J\\u202e.weight';

test('escapeControls shows ESC, BEL, C1 and bidi overrides as escapes and keeps newlines and ordinary text', () => {
  assert.equal(escapeControls('a\x1b]0;title\x07b\r\n‖Δ‖ → █ σ\t\u009b\u202e'), 'a\\x1b]0;title\\x07b\\x0d\n‖Δ‖ → █ σ\\x09\\x9b\\u202e');
  assert.deepEqual(JSON.parse(escapeControlsInJson(JSON.stringify({ n: RED }))), { n: RED });
  assert.doesNotMatch(escapeControlsInJson(JSON.stringify({ n: RED })), RAW_CONTROL);
});

test('a tensor name with escape sequences is shown escaped by inspect, kept exact (and escaped) in --json', () => {
  const dir = tempDir();
  const file = writeTemp(dir, 'evil.safetensors', rawSafetensors(JSON.stringify({ [RED]: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }), Buffer.alloc(4)));
  const text = cli('inspect', file);
  assert.equal(text.code, 0, text.stderr);
  assert.doesNotMatch(text.stdout, RAW_CONTROL);
  const row = text.stdout.split('\n').find((line) => line.startsWith('model.layers.0.'))!;
  assert.ok(row.startsWith(`${RED_SHOWN}  F32`), row);
  const json = cli('inspect', file, '--json');
  assert.doesNotMatch(json.stdout, RAW_CONTROL);
  assert.equal(JSON.parse(json.stdout).tensors[0].name, RED);
});

test('an error line quoting a hostile tensor name is escaped, and a missing dtype is named as missing', () => {
  const file = writeTemp(tempDir(), 'nodtype.safetensors', rawSafetensors(JSON.stringify({ [RED]: { shape: [1], data_offsets: [0, 4] } }), Buffer.alloc(4)));
  const { code, stderr } = cli('inspect', file);
  assert.equal(code, 2);
  assert.equal(stderr, `importance-lens: ${file}: tensor '${RED_SHOWN}' has no "dtype" (known: F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL, C64, F8_E4M3, F8_E5M2, F8_E8M0, F6_E2M3, F6_E3M2, F4)\n`);
});

test('a CSV header with an OSC title sequence is shown escaped and aligned, in the table and in an error line', () => {
  const dir = tempDir();
  const csv = writeTemp(dir, 'osc.csv', 'a,\x1b]0;title\x07\n1,2\n3,4\n');
  const { code, stdout } = cli('inspect', csv);
  assert.equal(code, 0);
  assert.doesNotMatch(stdout, RAW_CONTROL);
  const lines = stdout.split('\n');
  assert.ok(lines.includes('\\x1b]0;title\\x07  number  0        2'), stdout);
  assert.ok(lines.includes('a                 number  0        2'), 'the column keeps its width');
  const refused = cli('csv', csv, '--target', 'nope');
  assert.equal(refused.code, 2);
  assert.equal(refused.stderr, `importance-lens: ${csv}: no column 'nope' (columns: a, \\x1b]0;title\\x07)\n`);
});

test('CSV errors name the file: the scanner\'s (quotes) and the target\'s', () => {
  const dir = tempDir();
  const open = writeTemp(dir, 'open.csv', 'a,b\n1,"x\n');
  assert.equal(cli('inspect', open).stderr, `importance-lens: ${open}: line 2: quoted field is never closed (it opens on line 2 and runs to the end of the file)\n`);
  assert.equal(cli('csv', open, '--target', 'b').stderr, `importance-lens: ${open}: line 2: quoted field is never closed (it opens on line 2 and runs to the end of the file)\n`);
  const after = writeTemp(dir, 'after.csv', 'a,b\n1,"x"z\n');
  assert.equal(cli('inspect', after).stderr, `importance-lens: ${after}: line 2: unexpected character "z" after the closing quote of a quoted field\n`);
  const single = writeTemp(dir, 'single.csv', 'a,y\n1,2\n3,2\n');
  assert.equal(cli('csv', single, '--target', 'y').stderr, `importance-lens: ${single}: target 'y' has a single value in the first 2 rows; nothing to predict\n`);
  // A CSV target sample for DSIR: its own path, not the input's.
  const sample = writeTemp(dir, 'sample.csv', 't\n"unclosed\n');
  const rows = writeTemp(dir, 'rows.csv', 't\nhello world\n');
  assert.equal(cli('csv', rows, '--text-column', 't', '--target-file', sample).stderr, `importance-lens: ${sample}: line 2: quoted field is never closed (it opens on line 2 and runs to the end of the file)\n`);
});

test('a tokenizer.json the library refuses: its context and cause are separated ("from file: Oniguruma error")', async () => {
  const dir = tempDir();
  const tokenizer = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'models', 'tiny-qwen2', 'tokenizer.json'), 'utf8'));
  tokenizer.pre_tokenizer = { type: 'Split', pattern: { Regex: '(?<' }, behavior: 'Isolated', invert: false };
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  await assert.rejects(TextTokenizer.load(dir), (e: unknown) => e instanceof InputError
    && /tokenizer\.json: not a tokenizer the tokenizers library can load: error loading from file: Oniguruma error: /.test(e.message));
});

test('a text table of 200 000 rows (the tensor cap) renders: column widths are not taken by spreading the rows', () => {
  const rows = Array.from({ length: 200_000 }, (_, i) => [`model.layers.${i}.weight`, 'F32']);
  const text = table([['name', 'dtype'], ...rows]);
  const lines = text.split('\n');
  assert.equal(lines.length, 200_001);
  assert.equal(lines[1], `model.layers.0.weight${' '.repeat('model.layers.199999.weight'.length - 'model.layers.0.weight'.length)}  F32`);
});
