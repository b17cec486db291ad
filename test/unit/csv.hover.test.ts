// The header hover's pure parts: which header cell lies under an editor offset (quoting, the sniffed delimiter,
// BOM, CRLF, UTF-16 offsets), and the hover's Markdown from a real profile and column importance.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { columnHoverMarkdown, escapeMarkdown } from '../../src/analyses/csv/columnHover';
import { csvColumns } from '../../src/analyses/csv/csvColumns';
import { inspectCsv } from '../../src/analyses/csv/inspectCsv';
import { cellAt, headerCells } from '../../src/formats/csv/headerCells';
import { openCsv, SNIFF_BYTES } from '../../src/formats/csv/reader';
import { ROOT } from './helpers';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'csv');
const spans = (text: string) => headerCells(text)!.cells.map((c) => text.slice(c.start, c.end));

test('header cells: plain, quoted (delimiters, doubled quotes, newlines inside), and the offsets between them', () => {
  const plain = 'a,bb,c\n1,2,3\n';
  assert.deepEqual(headerCells(plain), { delimiter: ',', header: true, cells: [{ column: 0, start: 0, end: 1 }, { column: 1, start: 2, end: 4 }, { column: 2, start: 5, end: 6 }] });
  assert.equal(cellAt(headerCells(plain)!.cells, 3)?.column, 1);
  assert.equal(cellAt(headerCells(plain)!.cells, 1), undefined, 'on the delimiter');
  assert.equal(cellAt(headerCells(plain)!.cells, 8), undefined, 'a data line');
  const quoted = '"x, y","say ""hi""","multi\nline",d\n1,2,3,4\n';
  assert.deepEqual(spans(quoted), ['"x, y"', '"say ""hi"""', '"multi\nline"', 'd']);
  assert.equal(cellAt(headerCells(quoted)!.cells, quoted.indexOf('line'))?.column, 2, 'the second line of a quoted header cell');
});

test('header cells: the sniffed delimiter, BOM, CRLF and UTF-16 offsets (accents, surrogate pairs)', () => {
  assert.deepEqual(spans('a;b,c;d\n1;2,5;3\n'), ['a', 'b,c', 'd']);
  assert.deepEqual(spans('name\tvalue\nx\t1\n'), ['name', 'value']);
  const bom = '\ufeffa,b\n1,2\n';
  assert.deepEqual(headerCells(bom)!.cells[0], { column: 0, start: 1, end: 2 });
  assert.deepEqual(spans('a,b\r\n1,2\r\n'), ['a', 'b']);
  assert.deepEqual(spans('a,"b\rc",d\r1,2,3\r'), ['a', '"b\rc"', 'd'], 'lines ending in a lone CR');
  assert.deepEqual(spans('x y z\n1 2 3\n'), ['x', 'y', 'z'], 'space-delimited');
  const wide = 'é,ß,😀x,y\n1,2,3,4\n';
  assert.deepEqual(spans(wide), ['é', 'ß', '😀x', 'y']);
  assert.equal(cellAt(headerCells(wide)!.cells, wide.indexOf('y'))?.column, 3);
});

test('header cells: a first record of numbers is no header; an unclosed quote gives none; a long file is cut at the sniffed bytes', () => {
  assert.equal(headerCells('1,2\n3,4\n')!.header, false);
  assert.equal(headerCells('"a,b\n1,2\n'), undefined);
  const long = `a,b\n${'1,2\n'.repeat(SNIFF_BYTES / 2)}`;
  assert.deepEqual(spans(long), ['a', 'b']);
});

test('header cells name the columns the reader names (real files: scikit-learn wine, GDAL S-57 object classes)', async () => {
  for (const name of ['wine.csv', 's57objectclasses.csv']) {
    const text = readFileSync(join(FIXTURES, name), 'utf8');
    const cells = headerCells(text)!;
    const layout = await openCsv(join(FIXTURES, name));
    assert.equal(cells.delimiter, layout.delimiter);
    assert.deepEqual(cells.cells.map((c) => text.slice(c.start, c.end).replace(/^"(.*)"$/, '$1')), layout.columns);
  }
});

test('hover Markdown: profile stats, then the importance rank once column importance ran; names escaped', async () => {
  const path = join(FIXTURES, 'iris.csv');
  const profile = await drain(inspectCsv({ path }));
  const before = columnHoverMarkdown(profile, 2, undefined);
  assert.match(before, /^\*\*petal\\_length\\_cm\*\* — column 3 of 5 · number\n/);
  assert.match(before, /\| missing \| 0 of 150 \(0%\) \|/);
  assert.match(before, /\| min … max \| 1 … 6\.9 \|/);
  assert.match(before, /\| mean \| 3\.758 \|/); // numpy: iris.data[:, 2].mean() = 3.758
  assert.match(before, /run \*\*Analyze CSV Importance\*\*/);
  const importance = await drain(csvColumns({ path, target: 'species', repeats: 2 }));
  const rank = importance.columns.find((c) => c.name === 'petal_length_cm')!.rank;
  assert.match(columnHoverMarkdown(profile, 2, importance), new RegExp(`\\*\\*Importance vs \`species\`: rank ${rank} of 4\\*\\* · mutual information [\\d.]+ nats · permutation -?[\\d.e-]+ ± [\\d.e-]+ \\(drop in accuracy\\)`));
  assert.match(columnHoverMarkdown(profile, 4, importance), /Target of the last column importance \(classification\)/);
  assert.equal(escapeMarkdown('a*b_[c](d)|e\nf'), 'a\\*b\\_\\[c\\]\\(d\\)\\|e f');
});
