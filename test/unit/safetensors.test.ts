import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../../src/errors';
import { readSafetensorsHeader, SAFETENSORS_DTYPE_BITS } from '../../src/formats/safetensors';
import { encodeSafetensors, rawSafetensors } from '../fixtures/safetensorsWriter';
import { tempDir, writeTemp } from './helpers';

const dir = tempDir();

test('reads names, dtypes, shapes and absolute byte ranges', async () => {
  const file = writeTemp(dir, 'ok.safetensors', encodeSafetensors([
    { name: 'a', dtype: 'F32', shape: [2, 3], data: Buffer.alloc(24, 1) },
    { name: 'b', dtype: 'BF16', shape: [5], data: Buffer.alloc(10, 2) },
    { name: 'scalar', dtype: 'I64', shape: [], data: Buffer.alloc(8, 3) },
  ], { format: 'pt' }));
  const header = await readSafetensorsHeader(file);
  assert.equal(header.format, 'safetensors');
  assert.deepEqual(header.metadata, { format: 'pt' });
  assert.deepEqual(header.tensors.map((t) => [t.name, t.dtype, t.shape, t.count, t.byteLength]), [
    ['a', 'F32', [2, 3], 6, 24], ['b', 'BF16', [5], 5, 10], ['scalar', 'I64', [], 1, 8],
  ]);
  const bytes = (await import('node:fs')).readFileSync(file);
  for (const [t, fill] of header.tensors.map((t, i) => [t, i + 1] as const)) {
    assert.ok(bytes.subarray(t.byteOffset, t.byteOffset + t.byteLength).every((b) => b === fill), `${t.name} range points at its own bytes`);
  }
  assert.deepEqual(header.warnings, []);
});

test('names and metadata outside ASCII read as written (the header is decoded as UTF-8, ASCII ones as latin1)', async () => {
  const names = ['modèle.couche.0.poids', '层.1.权重', 'emoji.😀.weight', 'plain.ascii'];
  const file = writeTemp(dir, 'utf8.safetensors', encodeSafetensors(names.map((name) => ({ name, dtype: 'U8', shape: [1], data: Buffer.alloc(1) })), { note: 'größe' }));
  for (const scan of [true, false]) {
    const header = await readSafetensorsHeader(file, scan);
    assert.deepEqual(header.tensors.map((t) => t.name).sort(), [...names].sort());
    assert.deepEqual(header.metadata, { note: 'größe' });
  }
});

test('accepts every dtype of the spec with its element size', async () => {
  for (const [dtype, bits] of Object.entries(SAFETENSORS_DTYPE_BITS)) {
    const file = writeTemp(dir, `dtype-${dtype}.safetensors`, encodeSafetensors([{ name: 'x', dtype, shape: [4, 2], data: Buffer.alloc(Math.ceil((8 * bits) / 8)) }]));
    const [tensor] = (await readSafetensorsHeader(file)).tensors;
    assert.equal(tensor!.dtype, dtype);
    assert.equal(tensor!.byteLength, Math.ceil((8 * bits) / 8));
  }
});

test('zero-element tensors and an empty header are valid', async () => {
  const file = writeTemp(dir, 'empty.safetensors', encodeSafetensors([{ name: 'e', dtype: 'F16', shape: [0, 7], data: Buffer.alloc(0) }]));
  assert.equal((await readSafetensorsHeader(file)).tensors[0]!.count, 0);
  const none = writeTemp(dir, 'none.safetensors', rawSafetensors('{}'));
  assert.deepEqual((await readSafetensorsHeader(none)).tensors, []);
});

test('warns about data bytes no tensor claims', async () => {
  const file = writeTemp(dir, 'slack.safetensors', rawSafetensors('{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', Buffer.alloc(10)));
  const header = await readSafetensorsHeader(file);
  assert.match(header.warnings[0]!, /8 bytes of the data region belong to no tensor/);
});

const entry = (body: string) => `{"t":${body}}`;
const hostile: [string, Buffer, RegExp][] = [
  ['shorter than the length field', Buffer.from([1, 2, 3]), /too short for a safetensors file/],
  ['header length past the end of the file', rawSafetensors('{}', Buffer.alloc(0), 9_000n), /header of 9000 bytes ends at byte 9008 but the file has 10 bytes/],
  ['header length above the spec limit', rawSafetensors('{}', Buffer.alloc(0), 1n << 40n), /exceeds the safetensors limit/],
  ['header length 2^64-1', rawSafetensors('{}', Buffer.alloc(0), (1n << 64n) - 1n), /exceeds the safetensors limit/],
  ['invalid JSON', rawSafetensors('{"t":'), /header is not valid JSON/],
  ['JSON array', rawSafetensors('[1,2]'), /header must be a JSON object/],
  ['entry not an object', rawSafetensors(entry('5')), /tensor 't' must be an object/],
  ['unknown dtype', rawSafetensors(entry('{"dtype":"F128","shape":[1],"data_offsets":[0,16]}'), Buffer.alloc(16)), /unknown dtype "F128"/],
  ['negative dimension', rawSafetensors(entry('{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}')), /invalid shape \[-1\]/],
  ['fractional dimension', rawSafetensors(entry('{"dtype":"U8","shape":[1.5],"data_offsets":[0,0]}')), /invalid shape/],
  ['too many dimensions', rawSafetensors(entry(`{"dtype":"U8","shape":[${Array(17).fill(1).join(',')}],"data_offsets":[0,1]}`), Buffer.alloc(1)), /invalid shape/],
  ['element count overflow', rawSafetensors(entry('{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,1]}'), Buffer.alloc(1)), /element count overflows/],
  ['offsets not a pair', rawSafetensors(entry('{"dtype":"U8","shape":[1],"data_offsets":[0]}')), /invalid data_offsets/],
  ['begin after end', rawSafetensors(entry('{"dtype":"U8","shape":[0],"data_offsets":[4,2]}'), Buffer.alloc(4)), /begin 4 after end 2/],
  ['data past the end of the file', rawSafetensors(entry('{"dtype":"F32","shape":[4],"data_offsets":[0,16]}'), Buffer.alloc(8)), /ends at byte \d+ but the file has \d+/],
  ['size not matching dtype x shape', rawSafetensors(entry('{"dtype":"F32","shape":[3],"data_offsets":[0,8]}'), Buffer.alloc(8)), /has 8 data bytes but F32\[3\] needs 12/],
  ['overlapping tensors', rawSafetensors('{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}', Buffer.alloc(6)), /'a' and 'b' overlap/],
  ['non-string metadata', rawSafetensors('{"__metadata__":{"k":1}}'), /__metadata__.k must be a string/],
];

for (const [what, bytes, message] of hostile) {
  test(`refuses a file with ${what}`, async () => {
    const file = writeTemp(dir, 'hostile.safetensors', bytes);
    await assert.rejects(readSafetensorsHeader(file), (error: unknown) => {
      assert.ok(error instanceof InputError, `InputError, got ${String(error)}`);
      assert.match(error.message, message);
      assert.ok(error.message.includes(file), 'the message names the file');
      return true;
    });
  });
}
