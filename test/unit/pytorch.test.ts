// The PyTorch reader against files torch.save wrote (test/fixtures/pytorch/make_fixtures.py, run with Debian's
// torch) and a golden description torch and Python's zipfile gave of them; then hostile archives and pickles built
// here from the entries of a tiny torch.save archive. No pickle may ever run: the "evil" fixtures would create a
// marker file if anything unpickled them with Python semantics.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/errors';
import { readPytorchHeader } from '../../src/formats/pytorch';
import { buildZip, layoutZip, tinyArchiveEntries, type ZipEntrySpec } from '../fixtures/pytorch/zipWriter';
import { ROOT, tempDir, writeTemp } from './helpers';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'pytorch');
const dir = tempDir();

interface GoldenTensor {
  name: string; dtype: string; shape: number[]; stride: number[]; count: number; storageOffset: number; elementSize: number;
  contiguous: boolean; byteLength: number; sha256: string; storageKey?: string; byteOffset?: number;
}
const golden = JSON.parse(readFileSync(join(FIXTURES, 'golden.json'), 'utf8')) as { marker: string; files: Record<string, { tensors: GoldenTensor[] }> };
const MARKER = golden.marker;

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

for (const [file, expected] of Object.entries(golden.files)) {
  test(`${file}: names, dtypes, shapes and byte ranges match what torch saved`, async () => {
    rmSync(MARKER, { force: true });
    const path = join(FIXTURES, file);
    const header = await readPytorchHeader(path);
    const bytes = readFileSync(path);
    assert.equal(header.format, 'pytorch');
    assert.deepEqual(header.files, [path]);
    assert.deepEqual(header.tensors.map((t) => t.name), expected.tensors.map((t) => t.name));
    header.tensors.forEach((t, i) => {
      const g = expected.tensors[i]!;
      assert.deepEqual([t.dtype, t.shape, t.count, t.byteLength, t.file], [g.dtype, g.shape, g.count, g.byteLength, path], t.name);
      if (g.byteOffset !== undefined) assert.equal(t.byteOffset, g.byteOffset, `${t.name}: offset from zipfile + local header`);
      assert.equal(sha256(bytes.subarray(t.byteOffset, t.byteOffset + t.byteLength)), g.sha256, `${t.name}: the range holds the bytes torch had in memory`);
    });
    assert.equal(existsSync(MARKER), false, 'no pickle ran');
  });
}

test('dtypes.pt: every dtype name and element size, no warnings, the archive version as metadata', async () => {
  const header = await readPytorchHeader(join(FIXTURES, 'dtypes.pt'));
  assert.deepEqual(header.tensors.map((t) => t.dtype), ['F32', 'F16', 'BF16', 'I64', 'BOOL', 'F64', 'I32', 'I16', 'I8', 'U8', 'F32', 'F32']);
  assert.deepEqual(header.warnings, []);
  assert.deepEqual(header.metadata, { 'pytorch.container': 'zip', 'pytorch.archive': 'dtypes', 'pytorch.version': '3' });
});

test('views.pt: tied weights share one range; non-contiguous views are named in one warning', async () => {
  const header = await readPytorchHeader(join(FIXTURES, 'views.pt'));
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  const embed = byName.get('embed.weight')!;
  for (const tied of ['alias', 'lm_head.weight']) assert.deepEqual([byName.get(tied)!.byteOffset, byName.get(tied)!.byteLength], [embed.byteOffset, embed.byteLength]);
  assert.equal(byName.get('row')!.byteOffset, embed.byteOffset + 4 * 4, 'row 1 starts 4 floats in');
  assert.equal(header.warnings.length, 1);
  assert.match(header.warnings[0]!, /3 tensor\(s\) are non-contiguous views: 'transposed' \(shape \[4,4\], stride \[1,4\]\), 'column' .*'expanded' \(shape \[3,4\], stride \[1,0\]\)/);
  assert.doesNotMatch(header.warnings[0]!, /'row'/);
});

test('nested.pt: wrapper keys become dotted prefixes; non-tensor values are skipped with a warning', async () => {
  const header = await readPytorchHeader(join(FIXTURES, 'nested.pt'));
  const names = header.tensors.map((t) => t.name);
  assert.ok(names.includes('model.0.weight') && names.includes('model.2.num_batches_tracked'));
  assert.ok(names.includes('optimizer.state.0.exp_avg_sq'));
  assert.equal(header.warnings.length, 1);
  assert.match(header.warnings[0]!, /\d+ non-tensor value\(s\) were skipped \(e\.g\. 'optimizer\.param_groups\.0\.lr'/);
});

test('legacy.pt: the pre-1.6 format is read, with a warning that says so', async () => {
  const header = await readPytorchHeader(join(FIXTURES, 'legacy.pt'));
  assert.equal(header.metadata['pytorch.container'], 'legacy');
  assert.match(header.warnings.join('\n'), /legacy PyTorch format \(pre-1\.6 torch\.save\)/);
  const [weight, tied] = header.tensors;
  assert.equal(tied!.byteOffset, weight!.byteOffset, 'one storage, two names');
});

test('whole-module.pt: a pickled nn.Module yields its state_dict tensors and security findings for its classes', async () => {
  const header = await readPytorchHeader(join(FIXTURES, 'whole-module.pt'));
  assert.deepEqual(header.tensors.map((t) => t.name), ['0.weight', '0.bias']);
  assert.match(header.warnings[0]!, /^security: .*references torch\.nn\.modules\.container\.Sequential, which is outside the allowlist.*it was not executed/);
});

test('evil.pt: os.system and eval in data.pkl are reported, not run, and the weight is still recovered', async () => {
  rmSync(MARKER, { force: true });
  const header = await readPytorchHeader(join(FIXTURES, 'evil.pt'));
  assert.deepEqual(header.tensors.map((t) => t.name), ['weight']);
  const security = header.warnings.filter((w) => w.startsWith('security: '));
  assert.equal(security.length, 2);
  assert.match(security[0]!, /data\.pkl references posix\.system, which can run code.*it was not executed/);
  assert.match(security[1]!, /data\.pkl references builtins\.eval, which can run code/);
  assert.equal(existsSync(MARKER), false, `${MARKER} must not exist: nothing may be executed`);
});

for (const file of ['evil-only.pt', 'evil.pkl']) {
  test(`${file}: a pickle with nothing but os.system is refused, naming the global, and does not run`, async () => {
    rmSync(MARKER, { force: true });
    const path = join(FIXTURES, file);
    await assert.rejects(readPytorchHeader(path), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /security: .*posix\.system/);
      assert.ok(error.message.includes(path));
      return true;
    });
    assert.equal(existsSync(MARKER), false);
  });
}

// ---- hand-built archives from the entries of a tiny torch.save archive ({'w': arange(6).reshape(2, 3)}) ----

const TINY = tinyArchiveEntries(FIXTURES);
const tinyEntry = (suffix: string): { name: string; data: Buffer } => TINY.find((e) => e.name.endsWith(suffix))!;
const TINY_PICKLE = tinyEntry('data.pkl').data;

/** The tiny archive laid out as torch does (64-byte aligned, Zip64 EOCD), with entries replaced or added. */
function tinyZip(overrides: Record<string, Partial<ZipEntrySpec> | null> = {}, extra: ZipEntrySpec[] = [], zip64Eocd = true): Buffer {
  const entries: ZipEntrySpec[] = [];
  for (const e of TINY) {
    const o = overrides[e.name];
    if (o === null) continue;
    entries.push({ ...e, align: 64, ...o });
  }
  return buildZip([...entries, ...extra], { zip64Eocd });
}

/** data.pkl with one more dict item {key: module.name(arg)} added before STOP. */
function withItem(key: string, module: string, name: string, arg: string): Buffer {
  const str = (s: string): Buffer => Buffer.concat([Buffer.from([0x58]), u32(Buffer.byteLength(s)), Buffer.from(s)]);
  return Buffer.concat([
    TINY_PICKLE.subarray(0, -1), str(key), Buffer.from(`c${module}\n${name}\n`), str(arg), Buffer.from([0x85, 0x52, 0x73, 0x2e]),
  ]);
}

const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
const u64 = (v: bigint): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64LE(v); return b; };
const pkl = (...parts: (number[] | Buffer | string)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Array.isArray(p) ? Buffer.from(p) : p)));
const PICKLE = 'archive/data.pkl';
const STORAGE = 'archive/data/0';

test('a hand-built torch archive gives the range of its storage (aligned, Zip64 EOCD, classic EOCD, Zip64 extras, deflated pickle, comment)', async () => {
  const variants: [string, Buffer][] = [
    ['torch layout', tinyZip()],
    ['classic EOCD only', tinyZip({}, [], false)],
    ['Zip64 extra fields', tinyZip({ [PICKLE]: { zip64: true }, [STORAGE]: { zip64: true } })],
    ['deflated data.pkl', tinyZip({ [PICKLE]: { method: 8 } })],
    ['archive comment', buildZip(TINY, { zip64Eocd: true, comment: Buffer.from('PK\x05\x06 in a comment') })],
  ];
  for (const [what, bytes] of variants) {
    const header = await readPytorchHeader(writeTemp(dir, 'tiny.pt', bytes));
    const [w] = header.tensors;
    assert.deepEqual([w!.name, w!.dtype, w!.shape, w!.byteLength], ['w', 'F32', [2, 3], 24], what);
    const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset + w!.byteOffset, bytes.byteOffset + w!.byteOffset + 24));
    assert.deepEqual([...floats], [0, 1, 2, 3, 4, 5], what);
  }
});

const FORBIDDEN: [string, string, RegExp][] = [
  ['os', 'system', /os\.system, which can run code/],
  ['nt', 'system', /nt\.system, which can run code/],
  ['subprocess', 'Popen', /subprocess\.Popen, which can run code/],
  ['__builtin__', 'eval', /builtins\.eval, which can run code/],
  ['builtins', 'exec', /builtins\.exec, which can run code/],
  ['builtins', 'getattr', /builtins\.getattr, which can run code/],
  ['runpy', '_run_code', /runpy\._run_code, which can run code/],
  ['importlib', 'import_module', /importlib\.import_module, which can run code/],
  ['numpy.core.multiarray', 'scalar', /numpy\.core\.multiarray\.scalar, which is outside the allowlist/],
];
for (const [module, name, message] of FORBIDDEN) {
  test(`a call to ${module}.${name} in data.pkl is a security finding and the tensors are still read`, async () => {
    rmSync(MARKER, { force: true });
    const file = writeTemp(dir, 'forbidden.pt', tinyZip({ [PICKLE]: { data: withItem('x', module, name, `touch ${MARKER}`) } }));
    const header = await readPytorchHeader(file);
    assert.deepEqual(header.tensors.map((t) => t.name), ['w']);
    assert.match(header.warnings[0]!, /^security: /);
    assert.match(header.warnings[0]!, message);
    assert.equal(existsSync(MARKER), false);
  });
}

test('a quantized tensor is skipped with a warning, not a security finding', async () => {
  const file = writeTemp(dir, 'q.pt', tinyZip({ [PICKLE]: { data: withItem('q', 'torch._utils', '_rebuild_qtensor', 'x') } }));
  const header = await readPytorchHeader(file);
  assert.deepEqual(header.tensors.map((t) => t.name), ['w']);
  assert.deepEqual(header.warnings.filter((w) => w.startsWith('security')), []);
  assert.match(header.warnings.join('\n'), /1 tensor\(s\) were skipped: 'q' \(quantized tensors are not supported\)/);
});

function patched(bytes: Buffer, at: number, write: (b: Buffer, at: number) => void): Buffer {
  const copy = Buffer.from(bytes);
  write(copy, at);
  return copy;
}

const classic = layoutZip(TINY.map((e) => ({ ...e, align: 64 })));
const torchLike = layoutZip(TINY.map((e) => ({ ...e, align: 64 })), { zip64Eocd: true });
const storageIndex = TINY.findIndex((e) => e.name === STORAGE);
const tinyTensorOffset = (): Buffer => {
  const at = TINY_PICKLE.indexOf(Buffer.from([0x51, 0x4b, 0x00])); // BINPERSID, BININT1 0 (the storage offset)
  return patched(TINY_PICKLE, at + 2, (b, i) => { b[i] = 5; });
};
const legacy = readFileSync(join(FIXTURES, 'legacy.pt'));
const tar = Buffer.alloc(600);
tar.write('ustar', 257, 'latin1');

const hostile: [string, Buffer, RegExp][] = [
  ['an empty file', Buffer.alloc(0), /the file is empty/],
  ['neither zip nor pickle', Buffer.from('hello, world'), /not a PyTorch checkpoint: it starts with neither a zip header/],
  ['a tar-format checkpoint', tar, /tar-format PyTorch checkpoint \(torch < 0\.4\) is not supported/],
  ['a zip too short for an EOCD', Buffer.from('PK\x03\x04 short'), /too short for a zip archive/],
  ['a truncated zip', torchLike.bytes.subarray(0, torchLike.bytes.length >> 1), /no zip End of Central Directory record in the last \d+ bytes/],
  ['no EOCD signature', patched(torchLike.bytes, torchLike.eocdOffset, (b, i) => b.writeUInt32LE(0, i)), /no zip End of Central Directory record/],
  ['an EOCD count above what the directory holds', patched(classic.bytes, classic.eocdOffset, (b, i) => { b.writeUInt16LE(50, i + 8); b.writeUInt16LE(50, i + 10); }), /declares 50 entries but its central directory of \d+ bytes cannot hold that many/],
  ['an EOCD count below the real one', patched(classic.bytes, classic.eocdOffset, (b, i) => { b.writeUInt16LE(2, i + 8); b.writeUInt16LE(2, i + 10); }), /its 2 declared entries use \d+ \(the entry count is wrong\)/],
  ['EOCD and Zip64 record disagreeing on the count', patched(torchLike.bytes, torchLike.eocdOffset, (b, i) => { b.writeUInt16LE(7, i + 8); b.writeUInt16LE(7, i + 10); }), /End of Central Directory says entry count 7 but the Zip64 record says 3/],
  ['a Zip64 count of 2^40', patched(torchLike.bytes, torchLike.zip64EocdOffset!, (b, i) => { b.writeBigUInt64LE(1n << 40n, i + 24); b.writeBigUInt64LE(1n << 40n, i + 32); b.writeUInt16LE(0xffff, torchLike.eocdOffset + 8); b.writeUInt16LE(0xffff, torchLike.eocdOffset + 10); }), /declares 1099511627776 entries; more than \d+ are refused/],
  ['a central directory size past the EOCD', patched(classic.bytes, classic.eocdOffset, (b, i) => b.writeUInt32LE(b.readUInt32LE(i + 12) + 1000, i + 12)), /ends at byte \d+ but the End of Central Directory records start at byte \d+/],
  ['a central directory offset into entry data', patched(classic.bytes, classic.eocdOffset, (b, i) => b.writeUInt32LE(100, i + 16)), /central directory entry 0 \(byte 100\) has no central-directory signature/],
  ['a Zip64 locator pointing nowhere', patched(torchLike.bytes, torchLike.eocdOffset - 12, (b, i) => b.writeBigUInt64LE(3n, i)), /no Zip64 End of Central Directory record at byte 3/],
  ['a local header offset past the end of the file', patched(classic.bytes, classic.centralOffsets[storageIndex]!, (b, i) => b.writeUInt32LE(10_000_000, i + 42)), /zip entry 'archive\/data\/0': local header offset 10000000 lies past the entry area/],
  ['a local header offset at another entry', patched(classic.bytes, classic.centralOffsets[storageIndex]!, (b, i) => b.writeUInt32LE(0, i + 42)), /local header at byte 0 names a different entry/],
  ['a compressed storage', tinyZip({ [STORAGE]: { method: 8 } }), /zip entry 'archive\/data\/0' is compressed \(zip method 8\); tensor bytes can only be read by range/],
  ['an encrypted storage', tinyZip({ [STORAGE]: { flags: 0x0801 } }), /zip entry 'archive\/data\/0' is encrypted/],
  ['an entry named ../../etc/passwd', tinyZip({}, [{ name: '../../etc/passwd', data: Buffer.from('x') }]), /security: zip entry name "\.\.\/\.\.\/etc\/passwd" is absolute or escapes the archive \(path traversal\)/],
  ['an entry named archive/../../x', tinyZip({}, [{ name: 'archive/../../x', data: Buffer.from('x') }]), /security: .*path traversal/],
  ['an absolute entry name', tinyZip({}, [{ name: '/etc/cron.d/x', data: Buffer.from('x') }]), /security: .*path traversal/],
  ['a backslash entry name', tinyZip({}, [{ name: 'archive\\..\\x', data: Buffer.from('x') }]), /security: .*path traversal/],
  ['a drive-letter entry name', tinyZip({}, [{ name: 'C:/x', data: Buffer.from('x') }]), /security: .*path traversal/],
  ['a duplicate entry name', tinyZip({}, [{ name: STORAGE, data: Buffer.alloc(24) }]), /zip entry name 'archive\/data\/0' occurs twice/],
  ['a data.pkl declaring 10 GB uncompressed (zip bomb)', tinyZip({ [PICKLE]: { method: 8, declaredSize: 10 * 2 ** 30 } }), /zip entry 'archive\/data\.pkl' declares 10737418240 bytes; more than 67108864 are refused without reading/],
  ['a deflated data.pkl bigger than it declares', tinyZip({ [PICKLE]: { method: 8, declaredSize: 50 } }), /data\.pkl' does not inflate to its declared 50 bytes/],
  ['a data.pkl with a wrong CRC', tinyZip({ [PICKLE]: { crc: 0x12345678 } }), /CRC-32 is 0x[0-9a-f]{8} but the central directory says 0x12345678/],
  ['no data.pkl', tinyZip({ [PICKLE]: null }), /the zip has no '<archive>\/data\.pkl' entry/],
  ['two data.pkl', tinyZip({}, [{ name: 'other/data.pkl', data: TINY_PICKLE }]), /has 2 '<archive>\/data\.pkl' entries/],
  ['a missing storage entry', tinyZip({ [STORAGE]: null }), /storage '0' is referenced by archive\/data\.pkl but the zip has no entry 'archive\/data\/0'/],
  ['a storage smaller than declared', tinyZip({ [STORAGE]: { data: Buffer.alloc(8) } }), /storage '0' declares 6 F32 elements \(24 bytes\) but zip entry 'archive\/data\/0' holds 8 bytes/],
  ['a view past the end of its storage', tinyZip({ [PICKLE]: { data: tinyTensorOffset() } }), /tensor 'w' \(offset 5, shape \[2,3\], stride \[3,1\]\) reaches element 10 of storage '0'/],
  ['a big-endian byteorder', tinyZip({}, [{ name: 'archive/byteorder', data: Buffer.from('big') }]), /saved on a big-endian machine/],
  ['an unknown opcode', tinyZip({ [PICKLE]: { data: pkl([0x80, 2, 0xff]) } }), /archive\/data\.pkl at byte 2: unknown opcode 0xff/],
  ['a pickle without STOP', tinyZip({ [PICKLE]: { data: pkl([0x80, 2, 0x4e]) } }), /the pickle ends at byte 3 without a STOP opcode/],
  ['a stack underflow', tinyZip({ [PICKLE]: { data: pkl([0x80, 2], 'R.') } }), /at byte 2: pop from an empty stack/],
  ['a memo read before it is written', tinyZip({ [PICKLE]: { data: pkl([0x80, 2], 'h\x05.') } }), /memo entry 5 is read before it is written/],
  ['200 000 nested MARKs', tinyZip({ [PICKLE]: { data: pkl([0x80, 2], '('.repeat(200_000), '.') } }), /more than 100000 nested MARKs; refused/],
  ['a BINUNICODE8 of 2^62 bytes', tinyZip({ [PICKLE]: { data: pkl([0x80, 4, 0x8d], u64(1n << 62n), 'abc.') } }), /a string of 4611686018427387904 bytes runs past the end of the pickle \(4 bytes left\)/],
  ['a BINUNICODE of 4 GB', tinyZip({ [PICKLE]: { data: pkl([0x80, 2, 0x58], u32(0xffffffff), '.') } }), /a string of 4294967295 bytes runs past the end/],
  ['a LONG4 of 1 GB', tinyZip({ [PICKLE]: { data: pkl([0x80, 2, 0x8b], u32(1 << 30), '.') } }), /LONG4 of 1073741824 bytes \(more than 4096 are refused\)/],
  ['a persistent id that is not a storage', tinyZip({ [PICKLE]: { data: pkl([0x80, 2], 'X', u32(3), 'fooQ.') } }), /persistent id str "foo" is not \('storage', type, key, location, numel\)/],
  ['a tensor rebuilt from a non-storage', tinyZip({ [PICKLE]: { data: pkl([0x80, 2], 'ctorch._utils\n_rebuild_tensor_v2\n(NK\x00))\x89)tR.') } }), /_rebuild_tensor_v2 wants a storage first, got None/],
  ['a truncated legacy file (in the pickles)', legacy.subarray(0, 300), /the pickle|past the end of the pickle/],
  ['a truncated legacy file (in the storages)', legacy.subarray(0, legacy.length - 10), /end past the end of the file|should start at byte/],
  ['a plain pickle that is not a torch checkpoint', pkl([0x80, 2, 0x4b, 7, 0x2e]), /a pickle, but not a PyTorch checkpoint: .*found int 7/],
];

for (const [what, bytes, message] of hostile) {
  test(`refuses ${what}`, async () => {
    const file = writeTemp(dir, 'hostile.pt', bytes);
    await assert.rejects(readPytorchHeader(file), (error: unknown) => {
      assert.ok(error instanceof InputError, `InputError, got ${String(error)}`);
      assert.match(error.message, message);
      assert.ok(error.message.includes(file), 'the message names the file');
      return true;
    });
  });
}

test('deeply nested lists are searched to a bounded depth, with a warning, not a crash', async () => {
  const depth = 10_000;
  const data = pkl([0x80, 2], ']'.repeat(depth), 'a'.repeat(depth - 1), '.');
  const header = await readPytorchHeader(writeTemp(dir, 'deep.pt', tinyZip({ [PICKLE]: { data } })));
  assert.deepEqual(header.tensors, []);
  assert.match(header.warnings.join('\n'), /nested deeper than 64 levels/);
});
