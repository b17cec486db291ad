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
import { readZipDirectory } from '../../src/formats/pytorch/zip';
import { readSmallEntry } from '../../src/formats/pytorch/zipEntry';
import { seededRandom } from '../fixtures/safetensorsWriter';
import { buildZip, tinyArchiveEntries } from '../fixtures/pytorch/zipWriter';
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
