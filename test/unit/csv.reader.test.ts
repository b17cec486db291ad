// The CSV reader on well-formed dialects (quoted newlines, doubled quotes, BOM, CRLF, sniffed delimiters, header or
// not) and a table of malformed files, each refused with an InputError naming the line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../../src/errors';
import { CHUNK_BYTES } from '../../src/formats/csv/reader';
import { readAll } from './csvRead';
import { tempDir, writeTemp } from './helpers';

const dir = tempDir();
const file = (name: string, contents: string | Buffer) => writeTemp(dir, name, contents);

test('RFC 4180: quoted delimiters, newlines and doubled quotes; lines are where each record starts', async () => {
  const csv = await readAll(file('q.csv', 'id,text,n\n1,"a, b",2\n2,"line one\nline two",3\n3,"say ""hi""",4\n'));
  assert.deepEqual(csv.columns, ['id', 'text', 'n']);
  assert.deepEqual(csv.rows, [['1', 'a, b', '2'], ['2', 'line one\nline two', '3'], ['3', 'say "hi"', '4']]);
  assert.deepEqual(csv.lines, [2, 3, 5]);
});

test('BOM, CRLF, blank lines and a last record without a newline', async () => {
  const csv = await readAll(file('crlf.csv', '\ufeffa,b\r\n1,2\r\n\r\n3,"x\r\ny"\r\n4,5'));
  assert.deepEqual(csv.columns, ['a', 'b']);
  assert.deepEqual(csv.rows, [['1', '2'], ['3', 'x\r\ny'], ['4', '5']]);
  assert.deepEqual(csv.lines, [2, 4, 6]);
});

for (const [delimiter, name] of [[';', 'semicolon'], ['\t', 'tab'], ['|', 'pipe'], [',', 'comma']] as const) {
  test(`delimiter sniffed: ${name}`, async () => {
    const text = ['x,1', 'y;2', 'z|3'].map((_, i) => [`name${i}`, `v${i}`, `${i}.5`].join(delimiter));
    const csv = await readAll(file(`${name}.csv`, `h1${delimiter}h2${delimiter}h3\n${text.join('\n')}\n`));
    assert.equal(csv.delimiter, delimiter);
    assert.deepEqual(csv.columns, ['h1', 'h2', 'h3']);
    assert.equal(csv.rows.length, 3);
  });
}

test('header detection: numbers in the first record mean no header', async () => {
  const csv = await readAll(file('nohead.csv', '1,2.5,a\n3,4.5,b\n'));
  assert.equal(csv.header, false);
  assert.deepEqual(csv.columns, ['column1', 'column2', 'column3']);
  assert.equal(csv.rows.length, 2);
  const named = await readAll(file('head.csv', 'x,y\n1,2\n'));
  assert.equal(named.header, true);
});

test('lines ending in a lone CR (classic Mac OS): records, quoted CRs and line numbers as with LF', async () => {
  const csv = await readAll(file('cr.csv', 'a,b\r1,"x\ry"\r\r3,4\r5,6'));
  assert.deepEqual(csv.columns, ['a', 'b']);
  assert.deepEqual(csv.rows, [['1', 'x\ry'], ['3', '4'], ['5', '6']]);
  assert.deepEqual(csv.lines, [2, 5, 6]);
  await assert.rejects(readAll(file('cr-ragged.csv', 'a,b\r1,2\r3\r')), /line 3: 1 field, but the header has 2/);
  const bad = Buffer.concat([Buffer.from('a,b\r1,2\r3,'), Buffer.from([0xff]), Buffer.from('\r')]);
  await assert.rejects(readAll(file('cr-utf8.csv', bad)), /line 3: invalid UTF-8/);
});

test('space-delimited files: a space splits the records when no other delimiter does; a one-column text file stays one column', async () => {
  const spaced = await readAll(file('space.txt.csv', 'x y label\n1.5 2 a\n3 4.25 b\n'));
  assert.equal(spaced.delimiter, ' ');
  assert.deepEqual(spaced.columns, ['x', 'y', 'label']);
  assert.deepEqual(spaced.rows, [['1.5', '2', 'a'], ['3', '4.25', 'b']]);
  const text = await readAll(file('sentences.csv', 'text\nthe lord is\nmy shepherd today\n'));
  assert.equal(text.delimiter, ',');
  assert.deepEqual(text.columns, ['text']);
  const comma = await readAll(file('comma-words.csv', 'first name,last name\nAda Lovelace,King\nAlan Turing,Math\n'));
  assert.equal(comma.delimiter, ',');
});

test('records across chunk boundaries read the same as in one piece', async () => {
  const rows: string[] = [];
  let size = 0;
  for (let i = 0; size < CHUNK_BYTES * 2.5; i++) {
    const row = `${i},"quoted ""${i}""\nsecond line ${'x'.repeat(i % 97)}",${i * 0.5}\n`;
    rows.push(row);
    size += row.length;
  }
  const csv = await readAll(file('big.csv', `a,b,c\n${rows.join('')}`));
  assert.equal(csv.rows.length, rows.length);
  for (const i of [0, 1, 1000, rows.length - 1]) {
    assert.deepEqual(csv.rows[i], [String(i), `quoted "${i}"\nsecond line ${'x'.repeat(i % 97)}`, String(i * 0.5)]);
    assert.equal(csv.lines[i], 2 + 2 * i);
  }
});

const MALFORMED: [string, string | Buffer, RegExp][] = [
  ['ragged row', 'a,b,c\n1,2,3\n4,5\n', /line 3: 2 fields, but the header has 3/],
  ['ragged row after a quoted newline', 'a,b\n"x\ny",1\n1,2,3\n', /line 4: 3 fields/],
  ['unterminated quote', 'a,b\n1,2\n3,"never closed\n4,5\n', /line 3: quoted field is never closed/],
  ['text after a closing quote', 'a,b\n1,"x"y\n', /line 2: unexpected character "y" after the closing quote/],
  ['invalid UTF-8', Buffer.concat([Buffer.from('a,b\n1,2\n3,'), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from('\n')]), /line 3: invalid UTF-8 \(byte 0xff\)/],
  ['UTF-16', Buffer.from('\ufeffa,b\n1,2\n', 'utf16le'), /line 1: UTF-16/],
  ['NUL bytes', Buffer.from('a,b\n1,2\n3,\u0000\n'), /line 3: NUL byte/],
];

for (const [name, contents, message] of MALFORMED) {
  test(`malformed: ${name}`, async () => {
    const path = file(`bad-${name.replaceAll(' ', '-')}.csv`, contents);
    await assert.rejects(readAll(path), (error: unknown) => error instanceof InputError && message.test(error.message));
  });
}

test('malformed: a 100 MB field fails at the record cap with its line, not after reading it all into memory', async () => {
  const huge = Buffer.alloc(100 * 1024 * 1024, 0x61);
  const path = file('huge.csv', Buffer.concat([Buffer.from('a,b\n1,2\n3,'), huge, Buffer.from('\n')]));
  const before = process.memoryUsage().rss;
  await assert.rejects(readAll(path), (error: unknown) => error instanceof InputError && /line 3: a record longer than 16 MiB/.test(error.message));
  assert.ok(process.memoryUsage().rss - before < 90 * 1024 * 1024, 'memory stays bounded');
});

test('column types and missing values: number, category, text, date; pandas\' missing markers; stray cells reported', async () => {
  const { drain } = await import('../../src/analyses');
  const { inspectCsv } = await import('../../src/analyses/csv/inspectCsv');
  const rows = ['amount,colour,comment,day,score'];
  for (let i = 0; i < 120; i++) {
    const amount = i === 7 ? 'NA' : i === 9 ? 'oops' : String(i * 1.5);
    const colour = ['red', 'green', 'blue'][i % 3]!;
    const comment = i === 3 ? '' : `"free text number ${i}, with a comma"`;
    const day = i === 5 ? 'null' : `2024-01-${String(1 + (i % 28)).padStart(2, '0')}`;
    rows.push([amount, colour, comment, day, String(i % 5)].join(','));
  }
  const result = await drain(inspectCsv({ path: file('types.csv', `${rows.join('\n')}\n`) }));
  assert.equal(result.rows, 120);
  assert.deepEqual(result.columns.map((c) => [c.name, c.type, c.missing]), [
    ['amount', 'number', 2], ['colour', 'category', 0], ['comment', 'text', 1], ['day', 'date', 1], ['score', 'number', 0],
  ]);
  assert.ok(result.warnings.some((w) => /column 'amount': 1 cell\(s\) are not numbers \(first on line 11: "oops"\)/.test(w)), result.warnings.join('\n'));
});
