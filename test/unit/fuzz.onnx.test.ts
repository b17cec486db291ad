// Seeded mutation fuzzing of the ONNX reader: every mutant must either read (with every byte range inside its
// file) or fail with an InputError, never with another exception and never by hanging (> 5 s per case fails).
// FUZZ_ITERATIONS / FUZZ_SEED reproduce or extend a run.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/errors';
import { MAX_TENSORS } from '../../src/formats/limits';
import { readOnnxHeader } from '../../src/formats/onnx';
import type { CheckpointHeader } from '../../src/formats/types';
import { graphProto, modelProto, tensorProto } from '../fixtures/onnx/protoWriter';
import { seededRandom } from '../fixtures/safetensorsWriter';
import { ROOT, tempDir, writeTemp } from './helpers';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 1500);
const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const CASE_LIMIT_MS = 5000;

const FIXTURES = join(ROOT, 'test', 'fixtures', 'onnx');
const SEEDS = ['basic.onnx', 'tiny_torch.onnx', 'external.onnx'].map((name) => readFileSync(join(FIXTURES, name)));

function mutate(original: Buffer, random: () => number): Buffer {
  const pick = (n: number) => Math.floor(random() * n);
  const bytes = Buffer.from(original);
  switch (pick(6)) {
    case 0: // random bytes anywhere: tags, lengths, names, payloads
      for (let i = pick(8) + 1; i > 0; i--) bytes[pick(bytes.length)] = pick(256);
      return bytes;
    case 1: // truncate
      return bytes.subarray(0, pick(bytes.length));
    case 2: // a continuation bit: turns a varint into a longer one that swallows what follows
      bytes[pick(bytes.length)]! |= 0x80;
      return bytes;
    case 3: { // nudge a byte (most bytes in the structure are small lengths and field numbers)
      const at = pick(bytes.length);
      bytes[at] = (bytes[at]! + (random() < 0.5 ? 1 : 255) * (pick(4) + 1)) & 0xff;
      return bytes;
    }
    case 4: { // splice a slice of the file elsewhere: nested messages where they do not belong
      const from = pick(bytes.length);
      const slice = bytes.subarray(from, from + pick(64) + 1);
      const at = pick(bytes.length);
      return Buffer.concat([bytes.subarray(0, at), slice, bytes.subarray(at)]);
    }
    default: { // insert random bytes
      const at = pick(bytes.length);
      const noise = Buffer.from(Array.from({ length: pick(12) + 1 }, () => pick(256)));
      return Buffer.concat([bytes.subarray(0, at), noise, bytes.subarray(at)]);
    }
  }
}

async function withinLimit(read: Promise<CheckpointHeader>, what: string): Promise<CheckpointHeader> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${CASE_LIMIT_MS} ms`)), CASE_LIMIT_MS);
  });
  try {
    return await Promise.race([read, limit]);
  } finally {
    clearTimeout(timer);
  }
}

test(`fuzz: ${ITERATIONS} mutants of ONNX fixtures read or fail with InputError (seed ${SEED})`, async (t) => {
  const dir = tempDir();
  // external.onnx's mutants look for external.bin next to them.
  writeTemp(dir, 'external.bin', readFileSync(join(FIXTURES, 'external.bin')));
  const random = seededRandom(SEED);
  let refused = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const mutant = mutate(SEEDS[i % SEEDS.length]!, random);
    const file = writeTemp(dir, 'mutant.onnx', mutant);
    const what = `iteration ${i} (seed ${SEED})`;
    const started = Date.now();
    try {
      const header = await withinLimit(readOnnxHeader(file), what);
      for (const tensor of header.tensors) {
        const size = tensor.file === file ? mutant.length : statSync(tensor.file).size;
        assert.ok(tensor.byteOffset >= 0 && tensor.byteOffset + tensor.byteLength <= size, `${what}: '${tensor.name}' lies inside its file`);
      }
    } catch (error) {
      if (!(error instanceof InputError)) assert.fail(`${what}: ${String(error)}`);
      assert.ok(error.message.includes(file), `${what}: the message names the file`);
      refused++;
    }
    assert.ok(Date.now() - started < CASE_LIMIT_MS, `${what} took ${Date.now() - started} ms`);
  }
  t.diagnostic(`${refused} of ${ITERATIONS} mutants refused`);
  assert.ok(refused > ITERATIONS / 10 && refused < ITERATIONS, `mutants both read and refused (${refused}/${ITERATIONS} refused)`);
});

// Crafted many-initializer graphs (issue 12): 500 000 initializers took 1.5 GB to inspect. The cap is checked as
// tensors are found, so memory stays at the cap's worth; the test lowers it (maxTensors) rather than write 200 000.
test('a graph with more initializers than the tensor cap is refused while it is read', async () => {
  const dir = tempDir();
  const model = (count: number) => modelProto(graphProto({ initializers: Array.from({ length: count }, (_, i) => tensorProto({ name: `w${i}`, dims: [1], dataType: 1, raw: Buffer.alloc(4) })) }));
  const over = writeTemp(dir, 'over.onnx', model(1001));
  await assert.rejects(readOnnxHeader(over, { maxTensors: 1000 }), /over\.onnx: .*the model has more than 1000 tensors \(initializers and Constant values\); more are refused/);
  assert.equal((await readOnnxHeader(writeTemp(dir, 'at.onnx', model(1000)), { maxTensors: 1000 })).tensors.length, 1000);
  assert.equal(MAX_TENSORS, 200_000, 'the default cap (200 000 one-element ONNX tensors: ~500 MB to inspect)');
});
