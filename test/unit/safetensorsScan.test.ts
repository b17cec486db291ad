// The safetensors header scan (formats/safetensorsScan.ts) against JSON.parse: on plain headers it is taken and
// reads the same header; on anything else it steps aside; on seeded mutants of plain headers (bytes flipped,
// digits changed, slices duplicated) the reader with the scan and the reader with JSON.parse only give the same
// header or the same error, word for word.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readSafetensorsHeader } from '../../src/formats/safetensors';
import { scanSafetensorsHeader } from '../../src/formats/safetensorsScan';
import { encodeSafetensors, rawSafetensors, seededRandom } from '../fixtures/safetensorsWriter';
import { tempDir, writeTemp } from './helpers';

const plain = () => encodeSafetensors([
  { name: 'model.layers.0.self_attn.q_proj.weight', dtype: 'F32', shape: [3, 4], data: Buffer.alloc(48, 7) },
  { name: 'model.layers.1.mlp.up_proj.weight', dtype: 'BF16', shape: [6], data: Buffer.alloc(12, 9) },
  { name: 'model.norm.weight', dtype: 'F16', shape: [], data: Buffer.alloc(2, 1) },
  { name: 'empty', dtype: 'I8', shape: [0, 5], data: Buffer.alloc(0) },
], { format: 'pt', note: 'tensors: 4' });

async function outcome(file: string, scan: boolean): Promise<unknown> {
  try {
    return await readSafetensorsHeader(file, scan);
  } catch (error) {
    return { error: String(error) };
  }
}

test('plain headers are scanned, and read as JSON.parse reads them', async () => {
  const dir = tempDir();
  const bytes = plain();
  const text = bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8');
  const scanned = scanSafetensorsHeader(text);
  assert.ok(scanned, 'the writer\'s header is in the plain form');
  assert.deepEqual(scanned.names, ['model.layers.0.self_attn.q_proj.weight', 'model.layers.1.mlp.up_proj.weight', 'model.norm.weight', 'empty']);
  assert.deepEqual(scanned.shapes, [[3, 4], [6], [], [0, 5]]);
  assert.deepEqual(scanned.metadata, { format: 'pt', note: 'tensors: 4' });
  // Pretty-printed with the keys in another order: still plain.
  const pretty = JSON.stringify({ b: { shape: [2], data_offsets: [0, 8], dtype: 'F32' }, a: { dtype: 'F32', data_offsets: [8, 12], shape: [1] } }, null, 2);
  assert.deepEqual(scanSafetensorsHeader(pretty)?.names, ['b', 'a']);
  for (const file of [writeTemp(dir, 'plain.safetensors', bytes), writeTemp(dir, 'pretty.safetensors', rawSafetensors(pretty, Buffer.alloc(12)))]) {
    assert.deepEqual(await outcome(file, true), await outcome(file, false));
  }
});

test('headers outside the plain form are left to JSON.parse', () => {
  const entry = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
  for (const text of [
    `{"a\\u0041":${entry}}`, // an escape
    `{"a":${entry},"a":${entry}}`, // a repeated name
    `{"0":${entry}}`, // listed first by JSON.parse
    '{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}', // a fraction
    '{"a":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}', // a leading zero
    '{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', // a sign
    '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}', // a field the reader ignores
    '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}', // three offsets
    '{"a":{"dtype":"F32","shape":[1]}}', // no offsets
    `{"a":${entry},}`, // a trailing comma
    `{"a":${entry}} x`, // text after the object
    `{"__metadata__":{"format":1},"a":${entry}}`, // metadata that is not a string
    '{"a":{"dtype":"F32","shape":[12345678901234567],"data_offsets":[0,4]}}', // beyond 15 digits
    `{"a\x01b":${entry}}`, // a control character in a name
    `{"a\tb":${entry}}`, // a tab in a name (legal only between tokens)
    '{"a":{"dtype":"F3\x1f","shape":[1],"data_offsets":[0,4]}}', // … in a dtype
    `{"__metadata__":{"k":"v\nw"},"a":${entry}}`, // … in a metadata value
    `{"a":\x0b${entry}}`, // a vertical tab between tokens (not JSON whitespace)
  ]) assert.equal(scanSafetensorsHeader(text), undefined, JSON.stringify(text));
  // Tabs and line breaks between tokens are JSON whitespace: still plain.
  assert.deepEqual(scanSafetensorsHeader(`{\r\n\t"a" :\t${entry}\n}\n`)?.names, ['a']);
});

test('on mutants, the scan and JSON.parse give the same header or the same error', async () => {
  const dir = tempDir();
  const original = plain();
  const random = seededRandom(20261203);
  const pick = (n: number) => Math.floor(random() * n);
  let scannedHeaders = 0;
  for (let i = 0; i < 400; i++) {
    const bytes = Buffer.from(original);
    const kind = pick(3);
    if (kind === 0) for (let k = pick(4) + 1; k > 0; k--) bytes[8 + pick(bytes.length - 8)] = pick(128);
    else if (kind === 1) {
      const digits = [...bytes.toString('latin1').matchAll(/\d/g)].map((m) => m.index!).filter((at) => at >= 8);
      bytes[digits[pick(digits.length)]!] = 0x30 + pick(10);
    }
    const mutant = kind === 2 ? Buffer.concat([bytes.subarray(0, 8 + pick(80)), bytes.subarray(8 + pick(80))]) : bytes;
    const file = writeTemp(dir, 'mutant.safetensors', mutant);
    const withScan = await outcome(file, true);
    assert.deepEqual(withScan, await outcome(file, false), `mutant ${i}`);
    if (!('error' in (withScan as object))) scannedHeaders++;
  }
  assert.ok(scannedHeaders > 20, `some mutants still read (${scannedHeaders})`);
});
