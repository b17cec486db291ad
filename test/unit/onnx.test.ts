import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tensorRole } from '../../src/arch/names';
import { InputError } from '../../src/errors';
import { newReadStats, readOnnxHeader, type OnnxTensorInfo } from '../../src/formats/onnx';
import {
  cat, graphAttribute, graphProto, int, len, modelProto, modelWithTensor, node, tag, tensorAttribute, tensorProto, varint,
} from '../fixtures/onnx/protoWriter';
import { ROOT, tempDir, writeTemp } from './helpers';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'onnx');
const dir = tempDir();

interface GoldenTensor { name: string; dtype: string; dims: number[]; count: number; storage: string; sha256: string | null }
interface GoldenModel {
  tensor_count: number; parameters: number; producer_name: string; opset_import: string;
  graph_inputs: string[]; graph_outputs: string[]; tensors: GoldenTensor[];
}
const golden = JSON.parse(readFileSync(join(FIXTURES, 'golden.json'), 'utf8')) as Record<string, GoldenModel>;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const storageOf = (t: unknown) => (t as OnnxTensorInfo).storage;

for (const [file, model] of Object.entries(golden)) {
  test(`${file}: tensors, shapes, dtypes, parameter count and bytes match python3-onnx`, async () => {
    const header = await readOnnxHeader(join(FIXTURES, file));
    assert.equal(header.format, 'onnx');
    assert.deepEqual(header.tensors.map((t) => [t.name, t.dtype, t.shape, t.count, storageOf(t)]),
      model.tensors.map((t) => [t.name, t.dtype, t.dims, t.count, t.storage]));
    assert.equal(header.tensors.length, model.tensor_count);
    assert.equal(header.tensors.reduce((sum, t) => sum + t.count, 0), model.parameters);
    const bytesOf = new Map<string, Buffer>();
    for (const [t, g] of header.tensors.map((t, i) => [t, model.tensors[i]!] as const)) {
      if (g.sha256 === null) continue;
      const bytes = bytesOf.get(t.file) ?? readFileSync(t.file);
      bytesOf.set(t.file, bytes);
      assert.equal(sha256(bytes.subarray(t.byteOffset, t.byteOffset + t.byteLength)), g.sha256, `${t.name}: its byte range holds its values`);
    }
    assert.equal(header.metadata.producer_name, model.producer_name);
    assert.equal(header.metadata.opset_import, model.opset_import);
    assert.equal(header.metadata.graph_outputs, model.graph_outputs.join(', '));
  });
}

test('basic.onnx: role names for opaque weights, grouped warnings, metadata', async () => {
  const header = await readOnnxHeader(join(FIXTURES, 'basic.onnx'));
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  assert.equal(byName.get('onnx::MatMul_7')!.roleName, '/model/layers.1/self_attn/q_proj/MatMul');
  assert.equal(byName.get('42')!.roleName, '/model/layers.1/mlp/up_proj/Add');
  assert.equal(byName.get('model.layers.0.mlp.up_proj.weight')!.roleName, undefined, 'telling names keep no role name');
  assert.ok(!byName.has('scalar_float'), 'value_float Constants carry no TensorProto and are not listed');
  assert.equal(byName.get('labels')!.byteLength, 0);
  assert.equal(byName.get('u4_packed')!.byteLength, 3, 'U4[5] packs two per byte');
  const warnings = header.warnings.join('\n');
  assert.match(warnings, /tensor 'int32_data' stores its values in int32_data \(varints\); statistics need raw_data \(as do 1 more: 'f16_in_int32_data'\)/);
  assert.match(warnings, /tensor 'int64_data' stores its values in int64_data \(varints\)/);
  assert.match(warnings, /tensor 'labels' holds strings/);
  assert.equal(header.metadata.graph_name, 'basic_graph');
  assert.equal(header.metadata.graph_inputs, 'x');
  assert.equal(header.metadata.author, 'importance-lens tests');
  assert.equal(header.metadata['metadata_props.producer_name'], 'a prop that collides');
  assert.equal(header.metadata.ir_version, String(8));
  assert.equal(header.metadata.subgraphs, '2');
  assert.deepEqual(header.files, [join(FIXTURES, 'basic.onnx')]);
});

test('tiny_torch.onnx: every onnx::MatMul weight gets its consuming node, which names its layer and module', async () => {
  const header = await readOnnxHeader(join(FIXTURES, 'tiny_torch.onnx'));
  const opaque = header.tensors.filter((t) => t.name.startsWith('onnx::MatMul_'));
  assert.equal(opaque.length, 8);
  for (const t of opaque) assert.match(t.roleName ?? '', /^\/layers\.[01]\/(q|k|up|down)_proj\/MatMul$/);
  assert.deepEqual(opaque.map((t) => tensorRole(t.roleName!)), [0, 1].flatMap((layer) =>
    (['attn.q', 'attn.k', 'mlp.up', 'mlp.down'] as const).map((module) => ({ layer, module }))));
});

test('external.onnx: tensors point into external.bin', async () => {
  const header = await readOnnxHeader(join(FIXTURES, 'external.onnx'));
  assert.deepEqual(header.files, [join(FIXTURES, 'external.onnx'), join(FIXTURES, 'external.bin')]);
  assert.ok(header.tensors.every((t) => t.file === join(FIXTURES, 'external.bin')));
});

/** A sparse file: a tensor header, a hole of `payload` bytes the reader must skip, then more fields. */
function sparseModel(path: string, names: string[], payload: number): void {
  const tensors = names.map((name) => cat(int(1, payload / 4), int(2, 1), len(8, name), tag(9, 2), varint(payload)));
  const graphLength = tensors.reduce((sum, t) => sum + len(5, Buffer.alloc(0), t.length + payload).length + t.length + payload, 0);
  const fd = openSync(path, 'w');
  try {
    let at = 0;
    const put = (bytes: Buffer) => { writeSync(fd, bytes, 0, bytes.length, at); at += bytes.length; };
    put(cat(int(1, 9), tag(7, 2), varint(graphLength)));
    for (const t of tensors) { put(cat(tag(5, 2), varint(t.length + payload), t)); at += payload; }
    put(cat(len(8, cat(len(1, ''), int(2, 21))), len(2, 'after the payload')));
  } finally {
    closeSync(fd);
  }
}

test('a 1 GiB raw_data payload is skipped, not read: a few KiB read, no large allocation', async (t) => {
  const file = join(dir, 'huge.onnx');
  const payload = 2 ** 30;
  sparseModel(file, ['big.weight'], payload);
  const stats = newReadStats();
  const before = process.memoryUsage();
  const header = await readOnnxHeader(file, { stats });
  const after = process.memoryUsage();
  t.diagnostic(`${stats.reads} reads, ${stats.bytesRead} bytes read, window ${stats.peakWindowBytes} bytes, `
    + `arrayBuffers +${after.arrayBuffers - before.arrayBuffers} bytes, rss +${after.rss - before.rss} bytes`);
  const [big] = header.tensors;
  assert.deepEqual([big!.name, big!.shape, big!.byteLength], ['big.weight', [payload / 4], payload]);
  assert.equal(header.metadata.producer_name, 'after the payload', 'fields after the payload are read');
  assert.equal(header.metadata.opset_import, 'ai.onnx:21');
  assert.ok(stats.bytesRead < 16 * 1024, `read ${stats.bytesRead} bytes in ${stats.reads} reads`);
  assert.ok(stats.peakWindowBytes <= 16 * 1024, `window grew to ${stats.peakWindowBytes} bytes`);
  assert.ok(after.arrayBuffers - before.arrayBuffers < 64 * 2 ** 20, 'no payload-sized buffer');
  assert.ok(after.rss - before.rss < 256 * 2 ** 20, 'resident memory did not grow by the payload');
});

test('many inline weights: reads stay a few KiB per tensor', async (t) => {
  const file = join(dir, 'many.onnx');
  const names = Array.from({ length: 200 }, (_, i) => `model.layers.${i}.weight`);
  sparseModel(file, names, 2 ** 20);
  const stats = newReadStats();
  const header = await readOnnxHeader(file, { stats });
  t.diagnostic(`${stats.reads} reads, ${stats.bytesRead} bytes read for 200 tensors of 1 MiB`);
  assert.equal(header.tensors.length, 200);
  assert.deepEqual(header.tensors.map((t) => t.name), names);
  assert.ok(stats.bytesRead < 200 * 8 * 1024, `read ${stats.bytesRead} bytes for 200 MiB of weights`);
});

async function refuses(bytes: Buffer, message: RegExp, name = 'hostile.onnx'): Promise<void> {
  const file = writeTemp(dir, name, bytes);
  await assert.rejects(readOnnxHeader(file), (error: unknown) => {
    assert.ok(error instanceof InputError, `InputError, got ${String(error)}`);
    assert.match(error.message, message);
    assert.ok(error.message.includes(file), 'the message names the file');
    return true;
  });
}

const f32 = (name: string, dims: Array<number | bigint>, raw: Buffer) => modelWithTensor({ name, dims, dataType: 1, raw });
const nested = (depth: number): Buffer => {
  let graph = graphProto({ nodes: [node('Constant', [], ['c'], 'c', [tensorAttribute('value', tensorProto({ dims: [1], dataType: 1, raw: Buffer.alloc(4) }))])] });
  for (let i = 0; i < depth; i++) graph = graphProto({ nodes: [node('If', ['x'], ['y'], `if${i}`, [graphAttribute('then_branch', graph)])] });
  return modelProto(graph);
};
const nodeBytes = node('Relu', ['a'], ['b'], 'relu');

const hostile: Array<[string, Buffer, RegExp]> = [
  ['an empty file', Buffer.alloc(0), /no graph \(ModelProto field 7\)/],
  ['no graph', cat(int(1, 8), len(2, 'x')), /no graph/],
  ['a text file', Buffer.from('hello, this is not a model\n'), /wire type|group|past the end|no graph/],
  ['an 11-byte varint', Buffer.alloc(11, 0xff), /field tag at byte 0 is a varint longer than 10 bytes/],
  ['a varint overflowing 64 bits', cat(Buffer.alloc(9, 0xff), Buffer.from([0x02])), /at byte 0 overflows 64 bits/],
  ['a varint cut by the end of the file', Buffer.from([0x08, 0xff, 0xff]), /at byte 1 is cut off by the end of the file/],
  ['a length past the end of the file', cat(tag(7, 2), varint(1000), Buffer.from('abc')), /graph at byte 0 declares 1000 bytes, running to byte 1003 past the end of the file \(6 bytes\)/],
  ['a length past its parent message', modelProto(cat(len(1, nodeBytes, nodeBytes.length + 3)), len(2, 'padding')), /node at byte \d+ declares \d+ bytes, running to byte \d+ past the end of its enclosing message at byte \d+/],
  ['a group start wire type', cat(tag(7, 3), int(1, 1)), /field 7 at byte 0 uses the group start wire type/],
  ['a group end wire type', cat(int(1, 8), tag(4, 4)), /field 4 at byte 2 uses the group end wire type/],
  ['wire type 6', cat(tag(7, 6)), /field 7 at byte 0 has invalid wire type 6/],
  ['wire type 7', cat(tag(2, 7)), /invalid wire type 7/],
  ['field number 0', cat(tag(0, 0), varint(1)), /invalid field number 0 at byte 0/],
  ['a name sent as a varint', modelWithTensor({ dims: [1], dataType: 1, raw: Buffer.alloc(4), extra: int(8, 5) }), /name at byte \d+ has wire type varint, expected length-delimited/],
  ['a negative dimension', f32('w', [-1], Buffer.alloc(0)), /tensor 'w' \(TensorProto at byte \d+\) has a negative dimension -1/],
  ['dimensions whose product overflows', f32('w', [2n ** 40n, 2n ** 40n], Buffer.alloc(4)), /tensor 'w' .* element count overflows/],
  ['17 dimensions', f32('w', Array(17).fill(1), Buffer.alloc(4)), /more than 16 dimensions/],
  ['raw_data shorter than its shape', f32('w', [3], Buffer.alloc(8)), /tensor 'w' .* has 8 bytes of raw_data but F32\[3\] needs 12/],
  ['raw_data longer than its shape', f32('w', [2, 2], Buffer.alloc(20)), /has 20 bytes of raw_data but F32\[2, 2\] needs 16/],
  ['float_data not matching the shape', modelWithTensor({ name: 'w', dims: [3], dataType: 1, floats: [1, 2] }), /has 8 bytes of float_data but F32\[3\] needs 12/],
  ['float_data for an I32 tensor', modelWithTensor({ name: 'w', dims: [1], dataType: 6, floats: [1] }), /has data type I32 but stores float_data/],
  ['both raw_data and float_data', modelWithTensor({ name: 'w', dims: [1], dataType: 1, floats: [1], raw: Buffer.alloc(4) }), /more than one kind of data \(float_data and raw_data\)/],
  ['no data for a non-empty tensor', modelWithTensor({ name: 'w', dims: [2], dataType: 1 }), /tensor 'w' .* has 2 elements \(F32\[2\]\) but no data/],
  ['no data type', modelWithTensor({ name: 'w', dims: [1], raw: Buffer.alloc(4) }), /tensor 'w' .* has no data_type/],
  ['an unnamed initializer', modelWithTensor({ dims: [1], dataType: 1, raw: Buffer.alloc(4) }), /initializer at byte \d+ has no name/],
  ['an unknown data_location', modelWithTensor({ name: 'w', dims: [1], dataType: 1, raw: Buffer.alloc(4), extra: int(14, 2) }), /data_location 2/],
  ['a 5000-byte name', modelWithTensor({ name: 'n'.repeat(5000), dims: [0], dataType: 1 }), /is 5000 bytes long; more than 4096 bytes are refused/],
  ['subgraphs nested 40 deep', nested(40), /subgraph at byte \d+ is nested more than 32 levels deep/],
];

for (const [what, bytes, message] of hostile) test(`refuses a file with ${what}`, () => refuses(bytes, message));

test('subgraphs nested 30 deep are read', async () => {
  const header = await readOnnxHeader(writeTemp(dir, 'nested.onnx', nested(30)));
  assert.deepEqual(header.tensors.map((t) => t.name), ['c']);
});

test('truncated copies of basic.onnx: inside the graph always refused, anywhere never anything but InputError', async () => {
  const bytes = readFileSync(join(FIXTURES, 'basic.onnx'));
  const graph = topLevelField(bytes, 7);
  for (let cut = 0; cut < bytes.length; cut += 13) {
    const file = writeTemp(dir, 'truncated.onnx', bytes.subarray(0, cut));
    try {
      await readOnnxHeader(file);
      assert.ok(cut <= graph.start || cut >= graph.end, `cut at ${cut} inside the graph (${graph.start}..${graph.end}) must be refused`);
    } catch (error) {
      assert.ok(error instanceof InputError, `cut at ${cut}: ${String(error)}`);
      assert.ok(error.message.includes(file));
    }
  }
});

/** Where a top-level ModelProto field's tag and contents lie (for choosing cut points). */
function topLevelField(bytes: Buffer, field: number): { start: number; end: number } {
  const readVarint = (at: number): [number, number] => {
    let value = 0;
    let shift = 1;
    for (let i = at; ; i++) {
      value += (bytes[i]! & 0x7f) * shift;
      shift *= 128;
      if ((bytes[i]! & 0x80) === 0) return [value, i + 1];
    }
  };
  for (let at = 0; at < bytes.length;) {
    const [key, next] = readVarint(at);
    if (key % 8 === 0) { at = readVarint(next)[1]; continue; }
    const [length, body] = readVarint(next);
    if (Math.floor(key / 8) === field) return { start: at, end: body + length };
    at = body + length;
  }
  throw new Error(`no field ${field}`);
}

function externalModel(location: string, extra: Array<[string, string]> = [], dims = [3]): Buffer {
  return modelWithTensor({ name: 'w', dims, dataType: 1, external: [['location', location], ...extra] });
}

test('external data: relative paths inside the model directory, either separator', async () => {
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeTemp(dir, 'sub/w.bin', Buffer.alloc(32, 1));
  for (const location of ['sub/w.bin', 'sub\\w.bin', './sub//w.bin']) {
    const header = await readOnnxHeader(writeTemp(dir, 'ext-ok.onnx', externalModel(location, [['offset', '8'], ['length', '12']])));
    const [t] = header.tensors as OnnxTensorInfo[];
    assert.deepEqual([t!.file, t!.byteOffset, t!.byteLength, t!.storage], [join(dir, 'sub', 'w.bin'), 8, 12, 'external']);
  }
});

const hostileExternal: Array<[string, Buffer, RegExp]> = [
  ['an absolute path', externalModel('/etc/passwd'), /tensor 'w' .* names external file '\/etc\/passwd' by an absolute path.*\(security\)/],
  ['a Windows absolute path', externalModel('C:\\weights.bin'), /by an absolute path/],
  ['a .. segment', externalModel('../w.bin'), /names external file '..\/w.bin' outside the model's directory/],
  ['a .. segment in the middle', externalModel('sub/../../w.bin'), /outside the model's directory/],
  ['a backslash .. segment', externalModel('..\\w.bin'), /outside the model's directory/],
  ['a missing file', externalModel('missing.bin'), /names external file 'missing.bin' that cannot be opened \(.*no such file or directory\)/],
  ['a directory', externalModel('sub'), /'sub', which is not a regular file/],
  ['an offset past the end', externalModel('w16.bin', [['offset', '8']]), /ends at byte 20 of external file 'w16.bin' but that file has 16 bytes/],
  ['a length not matching the shape', externalModel('w16.bin', [['length', '8']]), /has 8 bytes of external data but F32\[3\] needs 12/],
  ['a non-numeric offset', externalModel('w16.bin', [['offset', '-4']]), /external_data 'offset' "-4", which is not a non-negative integer/],
  ['no location', modelWithTensor({ name: 'w', dims: [3], dataType: 1, external: [['offset', '0']] }), /no usable external_data 'location'/],
  ['raw_data as well', modelWithTensor({ name: 'w', dims: [3], dataType: 1, raw: Buffer.alloc(12), external: [['location', 'w16.bin']] }), /also carries raw_data inline/],
];

for (const [what, bytes, message] of hostileExternal) {
  test(`refuses external data with ${what}`, async () => {
    writeTemp(dir, 'w16.bin', Buffer.alloc(16));
    mkdirSync(join(dir, 'sub'), { recursive: true });
    await refuses(bytes, message, 'ext.onnx');
  });
}

test('weights and graph constants: parameter-named tensors and weight operands are weights, shape and index values are not', async () => {
  // silero_vad keeps its LSTM weights in Constant nodes and slices them before use: their names say what they are.
  const silero = await readOnnxHeader(join(FIXTURES, 'silero_vad_v5.onnx'));
  const byName = new Map(silero.tensors.map((t) => [t.name, t]));
  assert.equal(byName.get('If_0_else_branch__Inline_0__decoder.rnn.weight_ih')!.graphConstant, undefined);
  assert.equal(byName.get('If_0_else_branch__Inline_0__decoder.rnn.bias_hh')!.graphConstant, undefined);
  assert.equal(byName.get('If_0_else_branch__Inline_0__/stft/padding/Constant_1_output_0')!.graphConstant, true, 'an INT64 pad is no weight');
  // tiny_torch.onnx: every float weight of its Linear layers is a weight; its scalars are not.
  const torch = await readOnnxHeader(join(FIXTURES, 'tiny_torch.onnx'));
  for (const t of torch.tensors) assert.equal(t.graphConstant === true, t.count < 2 || !t.dtype.startsWith('F'), `${t.name} ${t.dtype}[${t.shape.join(', ')}]`);
});
