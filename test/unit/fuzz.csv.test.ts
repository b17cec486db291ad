// Seeded fuzzing of the CSV reader. Generated well-formed files must read exactly as csv-parse (a separate, widely
// used RFC 4180 parser) reads them; mutants of them (bytes flipped, quotes and newlines inserted, cut short) must
// read or fail with an InputError naming a line, never with another exception and never by hanging.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { seededRandom } from '../../src/compute/random';
import { InputError } from '../../src/errors';
import { readAll } from './csvRead';
import { drain } from '../../src/analyses';
import { inspectCsv } from '../../src/analyses/csv/inspectCsv';
import { tempDir, writeTemp } from './helpers';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const ALPHABET = ['a', 'b', 'Z', '1', '2.5', '-3e2', ' ', 'é', '€', ',', ';', '\t', '|', '"', '\n', '\r\n', 'NA', ''];

function generate(random: () => number): { text: string; delimiter: string; rows: string[][] } {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const delimiter = pick([',', ';', '\t', '|']);
  const width = 2 + Math.floor(random() * 4);
  const rows: string[][] = [Array.from({ length: width }, (_, c) => `col${c}`)];
  for (let r = 0, n = 1 + Math.floor(random() * 12); r < n; r++) {
    rows.push(Array.from({ length: width }, () => Array.from({ length: Math.floor(random() * 5) }, () => pick(ALPHABET)).join('')));
  }
  const quote = (v: string) => (/[",;\t|\r\n]/.test(v) || v.startsWith(' ') || v === '' || random() < 0.1 ? `"${v.replaceAll('"', '""')}"` : v);
  const eol = random() < 0.3 ? '\r\n' : '\n';
  return { text: rows.map((row) => row.map(quote).join(delimiter)).join(eol) + (random() < 0.8 ? eol : ''), delimiter, rows };
}

function mutate(text: Buffer, random: () => number): Buffer {
  const bytes = Buffer.from(text);
  const at = () => Math.floor(random() * Math.max(1, bytes.length));
  switch (Math.floor(random() * 4)) {
    case 0: for (let i = 0; i < 3; i++) bytes[at()] = Math.floor(random() * 256); return bytes;
    case 1: return bytes.subarray(0, at());
    case 2: { const i = at(); return Buffer.concat([bytes.subarray(0, i), Buffer.from(random() < 0.5 ? '"' : '\n'), bytes.subarray(i)]); }
    default: { const i = at(); return Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1 + Math.floor(random() * 5))]); }
  }
}

test(`fuzz: ${ITERATIONS} generated CSVs read as csv-parse reads them, and their mutants read or fail with a line (seed ${SEED})`, async () => {
  const dir = tempDir();
  const random = seededRandom(SEED);
  let refused = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const { text, delimiter } = generate(random);
    const path = writeTemp(dir, 'f.csv', text);
    const expected = parse(text, { delimiter, relax_column_count: false, skip_empty_lines: true }) as string[][];
    const csv = await readAll(path);
    assert.equal(csv.delimiter, delimiter, `iteration ${i}: delimiter of ${JSON.stringify(text)}`);
    assert.deepEqual([csv.columns, ...csv.rows], expected, `iteration ${i}: ${JSON.stringify(text)}`);

    const mutant = mutate(Buffer.from(text), random);
    writeTemp(dir, 'm.csv', mutant);
    try {
      await readAll(`${dir}/m.csv`);
      await drain(inspectCsv({ path: `${dir}/m.csv` }));
    } catch (error) {
      if (!(error instanceof InputError)) assert.fail(`iteration ${i} (seed ${SEED}): ${String(error)} on ${JSON.stringify(mutant.toString('latin1'))}`);
      assert.match(error.message, /line \d+|no column|columns/, `iteration ${i}: the error names a line`);
      refused++;
    }
  }
  assert.ok(refused > 0 && refused < ITERATIONS, `some mutants are refused (${refused}/${ITERATIONS})`);
});
