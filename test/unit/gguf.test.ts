import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/errors';
import { GGML_TYPES, readGgufHeader } from '../../src/formats/gguf';
import type { CheckpointHeader } from '../../src/formats/types';
import { arrayPayload, gguf, GGUF_FIXTURES, gstr, GT, kv, kvString, kvU32, tensorInfo, u32, u64, VT } from '../fixtures/gguf/ggufBytes';
import { HOSTILE_GGUF } from '../fixtures/gguf/hostile';
import { tempDir, writeTemp } from './helpers';

const dir = tempDir();
const fixture = (name: string): string => join(GGUF_FIXTURES, name);
const readJson = <T>(name: string): T => JSON.parse(readFileSync(fixture(name), 'utf8')) as T;

interface ExpectedFile {
  version: number;
  alignment: number;
  dataStart: number;
  size: number;
  tensors: { name: string; dtype: string; shape: number[]; count: number; byteOffset: number; byteLength: number; fill: number }[];
  metadata: Record<string, string>;
  architecture: NonNullable<CheckpointHeader['architecture']>;
}
interface GoldenKv {
  type: string;
  elementType?: string | null;
  length?: number;
  value?: unknown;
}
interface GoldenFile {
  version: number;
  alignment: number;
  dataOffset: number;
  kv: Record<string, GoldenKv>;
  tensors: { name: string; type: string; shape: number[]; count: number; byteOffset: number; byteLength: number }[];
}

const expected = readJson<Record<string, ExpectedFile>>('expected.json');
const golden = readJson<Record<string, unknown>>('ggufpy-golden.json');
const goldenFiles = Object.entries(golden).filter(([name]) => name.endsWith('.gguf')) as [string, GoldenFile][];

async function rejectsWith(path: string, message: RegExp): Promise<void> {
  await assert.rejects(readGgufHeader(path), (error: unknown) => {
    assert.ok(error instanceof InputError, `InputError, got ${String(error)}`);
    assert.match(error.message, message);
    assert.ok(error.message.includes(path), `the message names the file: ${error.message}`);
    return true;
  });
}

test('generated fixtures (v2 and v3): exact tensors, byte ranges, metadata of every value type, architecture', async () => {
  assert.deepEqual(Object.keys(expected).sort(), ['v2-align64.gguf', 'v3-all-types.gguf']);
  for (const [name, want] of Object.entries(expected)) {
    const path = fixture(name);
    const header = await readGgufHeader(path);
    assert.equal(header.format, 'gguf');
    assert.deepEqual(header.files, [path]);
    assert.deepEqual(
      header.tensors,
      want.tensors.map(({ fill: _fill, ...t }) => ({ ...t, file: path })),
      `${name}: tensors`,
    );
    const bytes = readFileSync(path);
    for (const [i, t] of header.tensors.entries()) {
      const range = bytes.subarray(t.byteOffset, t.byteOffset + t.byteLength);
      assert.ok(range.length > 0 && range.every((b) => b === want.tensors[i]!.fill), `${name}: '${t.name}' points at its own bytes`);
      assert.equal((t.byteOffset - want.dataStart) % want.alignment, 0);
    }
    assert.deepEqual(header.metadata, want.metadata, `${name}: metadata`);
    assert.deepEqual(Object.keys(header.metadata), Object.keys(want.metadata), `${name}: metadata in file order`);
    assert.deepEqual(header.architecture, want.architecture, `${name}: architecture`);
    assert.deepEqual(header.warnings, []);
  }
});

test('agrees with llama.cpp gguf-py on every fixture, generated and real (ggufpy-golden.json)', async () => {
  assert.equal(goldenFiles.length, 4);
  for (const [name, want] of goldenFiles) {
    const header = await readGgufHeader(fixture(name));
    assert.deepEqual(
      header.tensors.map((t) => ({ name: t.name, type: t.dtype, shape: t.shape, count: t.count, byteOffset: t.byteOffset, byteLength: t.byteLength })),
      want.tensors,
      `${name}: tensors`,
    );
    assert.deepEqual(Object.keys(header.metadata), Object.keys(want.kv), `${name}: keys`);
    for (const [key, entry] of Object.entries(want.kv)) checkRendering(`${name} ${key}`, header.metadata[key]!, entry);
  }
});

function checkRendering(where: string, shown: string, entry: GoldenKv): void {
  if (entry.type === 'array') {
    if (entry.elementType === 'array') return; // gguf-py counts the leaves of nested arrays, not the elements
    if (entry.length! > 16) return assert.equal(shown, `[array of ${entry.length} ${entry.elementType}]`, where);
    const items = JSON.parse(shown) as unknown[];
    assert.equal(items.length, entry.length, where);
    if (entry.value !== undefined) {
      const f32 = (values: unknown[]) => (entry.elementType === 'float32' ? values.map((v) => Math.fround(v as number)) : values);
      assert.deepEqual(f32(items), f32(entry.value as unknown[]), where);
    }
    return;
  }
  if (entry.type === 'float32') return assert.equal(Math.fround(Number(shown)), Math.fround(entry.value as number), where);
  if (entry.type === 'float64') return assert.equal(Number(shown), entry.value, where);
  assert.equal(shown, String(entry.value), where);
}

test('GGML type ids, block sizes and bytes per block match gguf-py GGML_QUANT_SIZES', () => {
  const quantSizes = golden._ggmlTypes as Record<string, [number, number, number]>;
  const ours = Object.fromEntries([...GGML_TYPES].map(([id, t]) => [t.name, [id, t.blockSize, t.typeSize]]));
  assert.deepEqual(ours, quantSizes);
  // The ones the issue names, by hand from ggml-common.h's block structs.
  const byHand: Record<string, [number, number]> = {
    F32: [1, 4], F16: [1, 2], BF16: [1, 2], Q8_0: [32, 34], Q4_0: [32, 18], Q4_1: [32, 20], Q5_0: [32, 22], Q5_1: [32, 24],
    Q2_K: [256, 84], Q3_K: [256, 110], Q4_K: [256, 144], Q5_K: [256, 176], Q6_K: [256, 210],
  };
  for (const [name, [block, size]] of Object.entries(byHand)) assert.deepEqual(ours[name]!.slice(1), [block, size], name);
});

test('vocab-only files from llama.cpp: metadata, architecture, no tensors', async () => {
  const spm = await readGgufHeader(fixture('ggml-vocab-llama-spm.gguf'));
  assert.deepEqual(spm.tensors, []);
  assert.deepEqual(spm.architecture, { family: 'llama', layers: 32, hidden: 4096, heads: 32, kvHeads: 32, intermediate: 11008, vocab: 32000, experts: null });
  assert.equal(spm.metadata['tokenizer.ggml.tokens'], '[array of 32000 string]');
  assert.equal(spm.metadata['llama.attention.layer_norm_rms_epsilon'], '0.00001');
  assert.equal(spm.metadata['tokenizer.ggml.add_bos_token'], 'true');
  assert.deepEqual(spm.warnings, []);
  const bge = await readGgufHeader(fixture('ggml-vocab-bert-bge.gguf'));
  // No head_count_kv key: llama.cpp takes the head count.
  assert.deepEqual(bge.architecture, { family: 'bert', layers: 12, hidden: 384, heads: 12, kvHeads: 12, intermediate: 1536, vocab: 30522, experts: null });
  for (const [name, header] of [['ggml-vocab-llama-spm.gguf', spm], ['ggml-vocab-bert-bge.gguf', bge]] as const) {
    const tokens = (golden[name] as GoldenFile).kv['tokenizer.ggml.tokens']!;
    assert.equal(header.architecture?.vocab, tokens.length, `${name}: vocab = gguf-py's token count`);
  }
});

const F32_4 = (name: string, offset: number): Buffer => tensorInfo(name, [4], GT.F32, offset);
const read = async (name: string, bytes: Buffer): Promise<CheckpointHeader> => readGgufHeader(writeTemp(dir, name, bytes));

test('scalar (n_dims 0) and zero-element tensors', async () => {
  const header = await read('edge.gguf', gguf({ infos: [tensorInfo('s', [], GT.F32, 0), tensorInfo('z', [0, 5], GT.Q4_0, 32)], data: Buffer.alloc(32) }));
  assert.deepEqual(header.tensors.map((t) => [t.name, t.shape, t.count, t.byteLength]), [['s', [], 1, 4], ['z', [0, 5], 0, 0]]);
});

test('alignments other than 32, v2 and v3 alike', async () => {
  for (const version of [2, 3]) {
    for (const alignment of [1, 8, 256]) {
      const infos = [tensorInfo('a', [3], 24 /* I8 */, 0), tensorInfo('b', [2], GT.F16, alignment === 1 ? 3 : alignment)];
      const header = await read('align.gguf', gguf({ version, kvs: [kvU32('general.alignment', alignment)], infos, alignment, data: Buffer.alloc(Math.max(alignment, 3) + 4) }));
      const dataStart = header.tensors[0]!.byteOffset;
      assert.equal(dataStart % alignment, 0);
      assert.deepEqual(header.tensors.map((t) => [t.dtype, t.byteOffset - dataStart, t.byteLength]), [['I8', 0, 3], ['F16', alignment === 1 ? 3 : alignment, 4]]);
    }
  }
});

test('metadata: __proto__ is a key like any other, long strings are cut, bad UTF-8 is shown not thrown', async () => {
  const long = 'x'.repeat(70_000);
  const header = await read('meta.gguf', gguf({ kvs: [kvString('__proto__', 'p'), kvString('long', long), kv('bad', VT.string, Buffer.concat([u64(2), Buffer.from([0xff, 0xfe])]))] }));
  assert.equal(Object.getOwnPropertyDescriptor(header.metadata, '__proto__')?.value, 'p');
  assert.equal(Object.getPrototypeOf(header.metadata), Object.prototype);
  assert.equal(header.metadata.long, `${'x'.repeat(65_536)}… (70000 bytes)`);
  assert.equal(header.metadata.bad, '\ufffd\ufffd');
  assert.equal(header.architecture, undefined, 'no general.architecture, no summary');
});

test('architecture: per-layer arrays, unusable values and missing keys', async () => {
  const perLayer = (key: string, values: number[]) => kv(key, VT.array, arrayPayload(VT.int32, values.length, Buffer.concat(values.map(u32))));
  const header = await read('arch.gguf', gguf({ kvs: [
    kvString('general.architecture', 'gemma4'),
    perLayer('gemma4.attention.head_count_kv', [8, 2, 2, 8]),
    perLayer('gemma4.feed_forward_length', [64, 64]),
    kv('gemma4.block_count', VT.float32, Buffer.from(new Float32Array([2.5]).buffer)),
    kv('gemma4.embedding_length', VT.uint64, u64(1n << 60n)),
  ] }));
  assert.deepEqual(header.architecture, { family: 'gemma4', layers: null, hidden: null, heads: null, kvHeads: null, intermediate: 64, vocab: null, experts: null });
  assert.equal(header.warnings.length, 3);
  assert.match(header.warnings.join('\n'), /head_count_kv varies per layer \(2 to 8\)/);
  assert.match(header.warnings.join('\n'), /gemma4.block_count is 2.5, not a count/);
  assert.match(header.warnings.join('\n'), /gemma4.embedding_length is 1152921504606846976, not a count/);
});

test('warns about data bytes no tensor claims', async () => {
  const header = await read('gap.gguf', gguf({ infos: [F32_4('a', 0), F32_4('b', 64)], data: Buffer.alloc(200) }));
  // a: 16 bytes + 16 padding; 32 unclaimed before b; after b's padded end, 200 - 96 = 104 more.
  assert.deepEqual(header.warnings, [`${header.files[0]}: 136 bytes of the data section belong to no tensor`]);
});

test('a 10 GB file opens by reading only its header', { timeout: 20_000 }, async () => {
  const path = join(dir, 'huge.gguf');
  const head = gguf({ kvs: [kvString('general.architecture', 'llama')], infos: [tensorInfo('blk.0.ffn_up.weight', [50_000, 50_000], GT.F32, 0)] });
  const file = await open(path, 'w');
  await file.write(head, 0, head.length, 0);
  await file.truncate(head.length + 10_000_000_000);
  await file.close();
  const proto = Object.getPrototypeOf(file) as FileHandle;
  const original = proto.read;
  let bytesRead = 0;
  proto.read = async function (this: FileHandle, ...args: Parameters<FileHandle['read']>) {
    const result = await (original as (...a: unknown[]) => ReturnType<FileHandle['read']>).apply(this, args);
    bytesRead += result.bytesRead;
    return result;
  } as FileHandle['read'];
  try {
    const [tensor] = (await readGgufHeader(path)).tensors;
    assert.deepEqual([tensor!.byteOffset, tensor!.byteLength], [head.length, 10_000_000_000]);
  } finally {
    proto.read = original;
  }
  assert.ok(bytesRead <= 1024 * 1024 + head.length, `read ${bytesRead} bytes`);
});

test('a header longer than the cap is refused without being read', { timeout: 20_000 }, async () => {
  const path = join(dir, 'long-header.gguf');
  const file = await open(path, 'w');
  const length = 16_000_000;
  let at = 24;
  await file.write(Buffer.concat([Buffer.from('GGUF', 'latin1'), u32(3), u64(0), u64(5)]), 0, 24, 0);
  for (let i = 0; i < 5; i++) {
    const entry = kv(`k${i}`, VT.array, arrayPayload(VT.uint64, length));
    await file.write(entry, 0, entry.length, at);
    at += entry.length + 8 * length; // the elements stay a hole in a sparse file
  }
  await file.truncate(1_000_000_000);
  await file.close();
  await rejectsWith(path, /metadata 'k4': 16000000 uint64 elements at byte \d+ lies past the first 536870912 bytes; GGUF headers larger than that are refused/);
});

test('refuses the file cut at every point before its last tensor ends', async () => {
  const whole = readFileSync(fixture('v3-all-types.gguf'));
  const want = expected['v3-all-types.gguf']!;
  const last = want.tensors.at(-1)!;
  // Every byte through the fixed header and the first key-value pairs, then a stride through the rest of the
  // header (odd, so that it lands on every field kind), then points inside the tensor data.
  const dataEnd = last.byteOffset + last.byteLength;
  const cuts = [...Array(400).keys()];
  for (let cut = 400; cut <= want.dataStart; cut += 11) cuts.push(cut);
  for (let i = 0; i < 100; i++) cuts.push(want.dataStart + Math.floor((i * (dataEnd - want.dataStart)) / 100));
  cuts.push(dataEnd - 1);
  for (const cut of cuts) {
    await rejectsWith(writeTemp(dir, 'cut.gguf', whole.subarray(0, cut)), /too short|file ends at byte|bytes follow|but the file has|more than the \d+ bytes/);
  }
  assert.equal((await readGgufHeader(writeTemp(dir, 'cut.gguf', whole.subarray(0, dataEnd)))).tensors.length, want.tensors.length, 'the final padding is optional');
});

for (const [what, bytes, message] of HOSTILE_GGUF) {
  test(`refuses a GGUF file with ${what}`, async () => {
    await rejectsWith(writeTemp(dir, 'hostile.gguf', bytes), message);
  });
}

test('a lying string length in a vocabulary is caught at the element, not after reading', async () => {
  const tokens = Buffer.concat([gstr('a'), gstr('b'), gstr('c', 9_000_000), Buffer.alloc(8)]);
  await rejectsWith(writeTemp(dir, 'vocab.gguf', gguf({ kvs: [kv('tokenizer.ggml.tokens', VT.array, arrayPayload(VT.string, 3, tokens))] })), /'tokenizer.ggml.tokens' element 2 at byte 95 needs 9000000 bytes/);
});
