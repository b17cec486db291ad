// Seeded mutation fuzzing of the PyTorch reader: mutants of torch.save files (zip and legacy) and archives rebuilt
// around mutated data.pkl bytes (with correct CRCs, so the unpickler itself is reached) must each end in a header
// whose ranges lie inside the file or in an InputError, within 5 s, and must never run anything.
// FUZZ_ITERATIONS / FUZZ_SEED reproduce or lengthen a run.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/errors';
import { readPytorchHeader } from '../../src/formats/pytorch';
import { MAX_PICKLE_MEMO } from '../../src/formats/pytorch/caps';
import { readZipDirectory } from '../../src/formats/pytorch/zip';
import { readSmallEntry } from '../../src/formats/pytorch/zipEntry';
import { seededRandom } from '../fixtures/safetensorsWriter';
import { buildZip, layoutZip, tinyArchiveEntries } from '../fixtures/pytorch/zipWriter';
import { ROOT, tempDir, writeTemp } from './helpers';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 600);
const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const CASE_LIMIT_MS = 5000;
const FIXTURES = join(ROOT, 'test', 'fixtures', 'pytorch');
const MARKER = (JSON.parse(readFileSync(join(FIXTURES, 'golden.json'), 'utf8')) as { marker: string }).marker;

type Entries = { name: string; data: Buffer }[];

/** The entries of a fixture archive (the reader's zip layer is checked against zipfile in pytorch.test.ts). */
async function unpack(file: string): Promise<Entries> {
  const path = join(FIXTURES, file);
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const directory = await readZipDirectory(handle, size, path);
    const entries: Entries = [];
    for (const entry of directory.entries) entries.push({ name: entry.name, data: await readSmallEntry(handle, directory, entry, 1 << 20, path) });
    return entries;
  } finally {
    await handle.close();
  }
}

const BOUNDARIES = [0, 1, 0xff, 0xffff, 0xffffffff, 0x7fffffff, 22, 46, 64];

function mutateBytes(original: Buffer, random: () => number, window: [number, number]): Buffer {
  const bytes = Buffer.from(original);
  const pick = (n: number): number => Math.floor(random() * n);
  const [from, to] = window;
  const at = (): number => from + pick(Math.max(1, Math.min(bytes.length, to) - from));
  switch (pick(5)) {
    case 0: // random bytes
      for (let i = pick(8) + 1; i > 0; i--) bytes[at()] = pick(256);
      return bytes;
    case 1: { // a boundary value in a little-endian field
      const p = at();
      const value = BOUNDARIES[pick(BOUNDARIES.length)]!;
      if (p + 4 <= bytes.length) bytes.writeUInt32LE(random() < 0.5 ? value >>> 0 : pick(bytes.length * 2), p);
      return bytes;
    }
    case 2: // truncate
      return bytes.subarray(0, pick(bytes.length));
    case 3: { // delete a slice
      const p = at();
      return Buffer.concat([bytes.subarray(0, p), bytes.subarray(p + pick(16) + 1)]);
    }
    default: { // duplicate a slice
      const p = at();
      return Buffer.concat([bytes.subarray(0, p + pick(24)), bytes.subarray(p)]);
    }
  }
}

test(`fuzz: ${ITERATIONS} mutants of torch.save files read or fail with InputError (seed ${SEED})`, async () => {
  rmSync(MARKER, { force: true });
  const dir = tempDir();
  const files = ['dtypes.pt', 'views.pt', 'nested.pt', 'evil.pt', 'legacy.pt'].map((f) => readFileSync(join(FIXTURES, f)));
  const archives: Entries[] = [tinyArchiveEntries(FIXTURES), await unpack('nested.pt'), await unpack('evil.pt'), await unpack('views.pt')];
  const random = seededRandom(SEED);
  const pick = (n: number): number => Math.floor(random() * n);
  let read = 0;
  let refused = 0;
  let slowest = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    let mutant: Buffer;
    const kind = pick(4);
    if (kind === 3) {
      // Mutate data.pkl and rebuild the archive with valid CRCs and offsets: this reaches the unpickler.
      const entries = archives[pick(archives.length)]!;
      mutant = buildZip(entries.map((e) => (e.name.endsWith('/data.pkl') ? { ...e, data: mutateBytes(e.data, random, [2, e.data.length]) } : e)).map((e) => ({ ...e, align: 64 })), { zip64Eocd: true });
    } else {
      const original = files[pick(files.length)]!;
      // The zip directory lives in the last few hundred bytes; the legacy pickles in the first few hundred.
      const window: [number, number] = kind === 0 ? [0, original.length] : kind === 1 ? [Math.max(0, original.length - 400), original.length] : [0, 600];
      mutant = mutateBytes(original, random, window);
    }
    const file = writeTemp(dir, 'mutant.pt', mutant);
    const started = Date.now();
    try {
      const header = await readPytorchHeader(file);
      for (const t of header.tensors) {
        assert.ok(Number.isSafeInteger(t.byteOffset) && t.byteOffset >= 0 && t.byteOffset + t.byteLength <= mutant.length, `iteration ${i} (seed ${SEED}): '${t.name}' lies inside the file`);
      }
      read++;
    } catch (error) {
      if (!(error instanceof InputError)) assert.fail(`iteration ${i} (seed ${SEED}): ${error instanceof Error ? error.stack : String(error)}`);
      refused++;
    }
    const elapsed = Date.now() - started;
    slowest = Math.max(slowest, elapsed);
    assert.ok(elapsed < CASE_LIMIT_MS, `iteration ${i} (seed ${SEED}) took ${elapsed} ms`);
  }
  assert.ok(read > 0 && refused > 0, `both outcomes occur (read ${read}, refused ${refused}, slowest ${slowest} ms)`);
  assert.equal(existsSync(MARKER), false, 'no mutant ran code');
});

// Crafted pickles (issue 12), written opcode by opcode and never loaded by Python. The os.system calls name
// `echo`; nothing runs them.
const op = (text: string): Buffer => Buffer.from(text, 'latin1');
const globalOp = (module: string, name: string): Buffer => op(`c${module}\n${name}\n`);
function unicode(text: string): Buffer {
  const data = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(data.length);
  return Buffer.concat([op('X'), length, data]);
}
/** _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', 1), 0, (1,), (1,), False, OrderedDict()). */
const TENSOR = Buffer.concat([
  globalOp('torch._utils', '_rebuild_tensor_v2'), op('(('), unicode('storage'), globalOp('torch', 'FloatStorage'), unicode('0'), unicode('cpu'),
  op('K\x01tQK\x00K\x01\x85K\x01\x85\x89'), globalOp('collections', 'OrderedDict'), op(')RtR'),
]);
/** protocol 4 STACK_GLOBAL: module and a dotted name, resolved by getattr from the module. */
const stackGlobal = (module: string, name: string): Buffer => Buffer.concat([unicode(module), unicode(name), op('\x93')]);
const call = (callable: Buffer, argument: string): Buffer => Buffer.concat([callable, unicode(argument), op('\x85R')]);

function torchZip(pickle: Buffer, storages: { key: string; data: Buffer }[] = [{ key: '0', data: Buffer.alloc(4) }]): Buffer {
  return buildZip([
    { name: 'archive/data.pkl', data: pickle },
    { name: 'archive/version', data: op('3\n') },
    ...storages.map(({ key, data }) => ({ name: `archive/data/${key}`, data, align: 64 })),
  ]);
}

async function refusal(bytes: Buffer, name: string): Promise<{ message: string; ms: number }> {
  const file = writeTemp(tempDir(), name, bytes);
  const started = Date.now();
  try {
    await readPytorchHeader(file);
  } catch (error) {
    assert.ok(error instanceof InputError, String(error));
    return { message: error.message, ms: Date.now() - started };
  }
  return assert.fail(`${name} was read`);
}

test('a malicious pickle refused for a structural reason keeps its security finding', async () => {
  const osSystem = call(globalOp('os', 'system'), 'echo never');
  const truncated = await refusal(torchZip(Buffer.concat([op('\x80\x02'), osSystem, op('0')])), 'truncated.pt');
  assert.match(truncated.message, /the pickle ends at byte \d+ without a STOP opcode; security: archive\/data\.pkl references os\.system, which can run code or touch the system; nothing was executed, but torch\.load runs such calls/);
  const stateDict = Buffer.concat([op('\x80\x02}('), unicode('x'), osSystem, unicode('w'), TENSOR, op('u.')]);
  const missing = await refusal(torchZip(stateDict, []), 'missing-storage.pt');
  assert.match(missing.message, /storage '0' is referenced by archive\/data\.pkl but the zip has no entry 'archive\/data\/0'; security: .*os\.system, which can run code/);
  assert.ok(!missing.message.includes('\n'), 'one line');
  // The same state_dict with its storage reads, with the finding as a warning.
  const header = await readPytorchHeader(writeTemp(tempDir(), 'ok.pt', torchZip(stateDict)));
  assert.deepEqual(header.tensors.map((t) => t.name), ['w']);
  assert.match(header.warnings[0]!, /^security: .*os\.system, which can run code/);
});

test('dotted names that reach code through a module attribute are called "can run code"', async () => {
  for (const [module, name] of [['torch', 'os.system'], ['torch', 'storage._load_from_bytes'], ['torch.serialization', 'load'], ['torch', 'load'], ['numpy', 'load'], ['torch', 'builtins.eval']]) {
    const pickle = Buffer.concat([op('\x80\x04}('), unicode('x'), call(stackGlobal(module!, name!), 'payload'), unicode('w'), TENSOR, op('u.')]);
    const header = await readPytorchHeader(writeTemp(tempDir(), 'dotted.pt', torchZip(pickle)));
    assert.match(header.warnings[0]!, new RegExp(`^security: .*references ${`${module}.${name}`.replace(/\./g, '\\.')}, which can run code`), `${module}.${name}`);
  }
  const benign = Buffer.concat([op('\x80\x04}('), unicode('x'), call(stackGlobal('torch.nn.modules.linear', 'Linear'), 'a'), unicode('w'), TENSOR, op('u.')]);
  const header = await readPytorchHeader(writeTemp(tempDir(), 'benign.pt', torchZip(benign)));
  assert.match(header.warnings[0]!, /Linear, which is outside the allowlist/);
});

test('a MEMOIZE flood is refused after MAX_PICKLE_MEMO entries, quickly', async () => {
  const flood = Buffer.concat([op('\x80\x04]'), Buffer.alloc(MAX_PICKLE_MEMO + 1, 0x94), op('.')]);
  const { message, ms } = await refusal(torchZip(flood), 'memoize.pt');
  assert.match(message, /the memo grew past 2000000 entries; refused/);
  assert.ok(ms < CASE_LIMIT_MS, `refused in ${ms} ms`);
});

test('a DAG of shared references is refused early: by its tensor paths, or by its nodes', async () => {
  /** One value, then `depth` levels of [previous, previous]: 2^depth paths to it. */
  const dag = (leaf: Buffer, depth: number): Buffer => {
    let ops = Buffer.concat([op('\x80\x02'), leaf, op('q\x00')]);
    for (let level = 0; level < depth; level++) {
      ops = Buffer.concat([ops, op(']q'), Buffer.from([level + 1]), op('(h'), Buffer.from([level]), op('h'), Buffer.from([level]), op('e')]);
    }
    return Buffer.concat([ops, op('.')]);
  };
  const tensors = await refusal(torchZip(dag(TENSOR, 40)), 'dag.pt');
  assert.match(tensors.message, /archive\/data\.pkl: holds more than 200000 tensors \(counting each path to a shared tensor\); more are refused/);
  assert.ok(tensors.ms < CASE_LIMIT_MS, `refused in ${tensors.ms} ms`);
  const nodes = await refusal(torchZip(dag(op('K\x07'), 40)), 'dag-ints.pt');
  assert.match(nodes.message, /the object graph has more than \d+ nodes counting shared references once per path .*refused/);
  assert.ok(nodes.ms < CASE_LIMIT_MS, `refused in ${nodes.ms} ms`);
});

test('a legacy-format pickle truncated after an os.system call keeps its security finding', async () => {
  const magic = Buffer.concat([op('\x80\x02\x8a\x0a'), Buffer.from('6cfc9c46f9206aa85019', 'hex'), op('.')]);
  const legacy = Buffer.concat([magic, op('\x80\x02M\xe9\x03.'), op('\x80\x02}.'), op('\x80\x02'), call(globalOp('posix', 'system'), 'echo never'), op('0')]);
  const { message } = await refusal(legacy, 'legacy.pt');
  assert.match(message, /legacy\.pt: the legacy pickle at byte \d+: the pickle ends at byte \d+ without a STOP opcode; security: the legacy pickle references posix\.system, which can run code/);
});

test('a zip declaring more entries than storages can need is refused before its directory is read', async () => {
  const zip = layoutZip([{ name: 'archive/data.pkl', data: op('\x80\x02}.') }], { zip64Eocd: true });
  const bytes = Buffer.from(zip.bytes);
  bytes.writeBigUInt64LE(300_001n, zip.zip64EocdOffset! + 24);
  bytes.writeBigUInt64LE(300_001n, zip.zip64EocdOffset! + 32);
  bytes.writeUInt16LE(0xffff, zip.eocdOffset + 8);
  bytes.writeUInt16LE(0xffff, zip.eocdOffset + 10);
  const { message } = await refusal(bytes, 'entries.pt');
  assert.match(message, /the zip declares 300001 entries; more than 300000 are refused/);
});
