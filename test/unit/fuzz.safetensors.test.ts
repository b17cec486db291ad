// Seeded mutation fuzzing of the safetensors reader: every mutant must either read or fail with an InputError,
// never with another exception and never by hanging. `npm run fuzz` runs the same with more iterations.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../../src/errors';
import { readSafetensorsHeader } from '../../src/formats/safetensors';
import { encodeSafetensors, seededRandom } from '../fixtures/safetensorsWriter';
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
