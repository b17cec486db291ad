// Seeded mutation fuzzing of the safetensors reader: every mutant must either read or fail with an InputError,
// never with another exception and never by hanging. `npm run fuzz` runs the same with more iterations.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../../src/errors';
import { MAX_TENSORS } from '../../src/formats/limits';
import { openCheckpoint } from '../../src/formats/open';
import { readSafetensorsHeader } from '../../src/formats/safetensors';
import { encodeSafetensors, rawSafetensors, seededRandom } from '../fixtures/safetensorsWriter';
import { tempDir, writeTemp } from './helpers';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 400);
const SEED = Number(process.env.FUZZ_SEED ?? 20261122);

function mutate(original: Buffer, random: () => number): Buffer {
  const bytes = Buffer.from(original);
  const pick = (n: number) => Math.floor(random() * n);
  switch (pick(5)) {
    case 0: // flip bytes, mostly in the header where the structure is
      for (let i = pick(8) + 1; i > 0; i--) bytes[pick(Math.min(bytes.length, 400))] = pick(256);
      return bytes;
    case 1: // truncate
      return bytes.subarray(0, pick(bytes.length));
    case 2: // rewrite the length field
      bytes.writeBigUInt64LE(BigInt(pick(1000)) * (random() < 0.1 ? 1n << 40n : 1n), 0);
      return bytes;
    case 3: { // replace a digit in the JSON (shapes and offsets)
      const text = bytes.toString('latin1');
      const digits = [...text.matchAll(/\d/g)].map((m) => m.index!).filter((i) => i >= 8);
      if (digits.length > 0) bytes[digits[pick(digits.length)]!] = 0x30 + pick(10);
      return bytes;
    }
    default: // duplicate a slice of the header
      return Buffer.concat([bytes.subarray(0, 8 + pick(64)), bytes.subarray(8 + pick(64))]);
  }
}

test(`fuzz: ${ITERATIONS} mutants of a valid file read or fail with InputError (seed ${SEED})`, async () => {
  const dir = tempDir();
  const original = encodeSafetensors([
    { name: 'model.layers.0.w', dtype: 'F32', shape: [3, 4], data: Buffer.alloc(48, 7) },
    { name: 'model.layers.1.b', dtype: 'BF16', shape: [6], data: Buffer.alloc(12, 9) },
  ], { format: 'pt' });
  const random = seededRandom(SEED);
  let refused = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const mutant = mutate(original, random);
    const file = writeTemp(dir, 'mutant.safetensors', mutant);
    try {
      const header = await readSafetensorsHeader(file);
      for (const t of header.tensors) assert.ok(t.byteOffset + t.byteLength <= mutant.length, `iteration ${i}: range inside the file`);
    } catch (error) {
      if (!(error instanceof InputError)) assert.fail(`iteration ${i} (seed ${SEED}): ${String(error)}`);
      refused++;
    }
  }
  assert.ok(refused > ITERATIONS / 4, `most mutants are refused (${refused}/${ITERATIONS})`);
});

// Crafted many-tensor headers (issue 12): a million one-element tensors fit under the 100 MB header cap and cost
// 2 GB to open. The tensor cap applies per file, before JSON.parse, and over all the files of one checkpoint.
function manyTensors(count: number, prefix = 't'): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) parts.push(`"${prefix}${i}":{"dtype":"F16","shape":[0],"data_offsets":[0,0]}`);
  return rawSafetensors(`{${parts.join(',')}}`);
}

test('a header of 250 000 tensors is refused before it is parsed', async () => {
  const file = writeTemp(tempDir(), 'many.safetensors', manyTensors(250_000));
  const start = performance.now();
  await assert.rejects(readSafetensorsHeader(file), /many\.safetensors: header has more than 200000 tensor entries \(counted before parsing/);
  assert.ok(performance.now() - start < 2000, `refused in ${(performance.now() - start).toFixed(0)} ms`);
  // '{' inside names are not entries: a header at the cap with braces in its names still reads.
  const braces = writeTemp(tempDir(), 'braces.safetensors', manyTensors(MAX_TENSORS, '{'));
  assert.equal((await readSafetensorsHeader(braces)).tensors.length, MAX_TENSORS);
});

test('an index listing more than MAX_TENSORS tensors, and shards holding more together, are refused', async () => {
  const dir = tempDir();
  const weightMap: Record<string, string> = {};
  for (let i = 0; i <= MAX_TENSORS; i++) weightMap[`t${i}`] = 'a.safetensors';
  writeTemp(dir, 'a.safetensors', manyTensors(1));
  const index = writeTemp(dir, 'model.safetensors.index.json', JSON.stringify({ weight_map: weightMap }));
  await assert.rejects(openCheckpoint(index), /weight_map lists 200001 tensors; checkpoints of more than 200000 are refused/);
  const half = MAX_TENSORS / 2 + 1;
  const split = tempDir();
  writeTemp(split, 'a.safetensors', manyTensors(half, 'a'));
  writeTemp(split, 'b.safetensors', manyTensors(half, 'b'));
  await assert.rejects(openCheckpoint(split), /b\.safetensors: with the 1 file\(s\) read before it, the checkpoint holds more than 200000 tensors/);
});
