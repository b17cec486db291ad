// Seeded mutation fuzzing of the GGUF reader: every mutant must either read or fail with an InputError, never
// with another exception, and never take more than CASE_LIMIT_MS (a lying count must not turn into a long loop).
// FUZZ_ITERATIONS / FUZZ_SEED as in fuzz.safetensors.test.ts; the default count runs in a few seconds.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/errors';
import { readGgufHeader } from '../../src/formats/gguf';
import type { CheckpointHeader } from '../../src/formats/types';
import { GGUF_FIXTURES } from '../fixtures/gguf/ggufBytes';
import { seededRandom } from '../fixtures/safetensorsWriter';
import { tempDir, writeTemp } from './helpers';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const CASE_LIMIT_MS = 5_000;

/** Values that make counts, lengths, dimensions and offsets lie in the interesting ways. */
const WIDE = [0n, 1n, 2n, 3n, 4n, 31n, 32n, 255n, 4096n, 65_535n, 1n << 31n, (1n << 32n) - 1n, 1n << 32n, 16_000_000n, 1n << 53n, 1n << 62n, 1n << 63n, (1n << 64n) - 1n];
const NARROW = [0, 1, 2, 4, 5, 8, 9, 12, 13, 14, 30, 31, 39, 43, 99, 0x7fffffff, 0xffffffff];

function mutate(original: Buffer, headerEnd: number, random: () => number): Buffer {
  const bytes = Buffer.from(original);
  const pick = (n: number) => Math.floor(random() * n);
  const inHeader = (width: number) => pick(Math.max(1, headerEnd - width));
  switch (pick(7)) {
    case 0: // flip bytes where the structure is
      for (let i = pick(8) + 1; i > 0; i--) bytes[pick(headerEnd)] = pick(256);
      return bytes;
    case 1: // truncate
      return bytes.subarray(0, pick(bytes.length));
    case 2: // a lying u64: counts, string and array lengths, dimensions, offsets
      bytes.writeBigUInt64LE(WIDE[pick(WIDE.length)]!, inHeader(8));
      return bytes;
    case 3: // a lying u32: value types, n_dims, GGML types, the version
      bytes.writeUInt32LE(NARROW[pick(NARROW.length)]!, inHeader(4));
      return bytes;
    case 4: // the tensor or KV count
      bytes.writeBigUInt64LE(random() < 0.5 ? WIDE[pick(WIDE.length)]! : BigInt(pick(400)), random() < 0.5 ? 8 : 16);
      return bytes;
    case 5: { // drop a slice of the header
      const from = pick(headerEnd);
      return Buffer.concat([bytes.subarray(0, from), bytes.subarray(from + 1 + pick(64))]);
    }
    default: { // repeat a slice of the header
      const from = pick(headerEnd);
      return Buffer.concat([bytes.subarray(0, from + pick(64)), bytes.subarray(from)]);
    }
  }
}

async function timeBoxed(promise: Promise<CheckpointHeader>, what: string): Promise<CheckpointHeader> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${CASE_LIMIT_MS} ms`)), CASE_LIMIT_MS);
  });
  const started = Date.now();
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
    // A synchronous loop would hold the timer back; the clock still tells.
    assert.ok(Date.now() - started <= CASE_LIMIT_MS, `${what} took ${Date.now() - started} ms`);
  }
}

test(`fuzz: ${ITERATIONS} mutants of valid GGUF files read or fail with InputError (seed ${SEED})`, async () => {
  const dir = tempDir();
  const expected = JSON.parse(readFileSync(join(GGUF_FIXTURES, 'expected.json'), 'utf8')) as Record<string, { dataStart: number }>;
  const originals = Object.entries(expected).map(([name, { dataStart }]) => ({ name, bytes: readFileSync(join(GGUF_FIXTURES, name)), dataStart }));
  const random = seededRandom(SEED);
  let refused = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const original = originals[i % originals.length]!;
    const mutant = mutate(original.bytes, original.dataStart, random);
    const file = writeTemp(dir, 'mutant.gguf', mutant);
    const what = `iteration ${i} (seed ${SEED}, from ${original.name})`;
    try {
      const header = await timeBoxed(readGgufHeader(file), what);
      for (const t of header.tensors) {
        assert.ok(t.byteOffset >= 0 && t.byteOffset + t.byteLength <= mutant.length, `${what}: '${t.name}' lies inside the file`);
        assert.ok(Number.isSafeInteger(t.count) && t.shape.length <= 4, `${what}: '${t.name}' has a sane shape`);
      }
    } catch (error) {
      if (!(error instanceof InputError)) assert.fail(`${what}: ${error instanceof Error ? error.stack : String(error)}`);
      refused++;
    }
  }
  assert.ok(refused > ITERATIONS / 4, `most mutants are refused (${refused}/${ITERATIONS})`);
});
