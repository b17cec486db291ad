// `csv FILE --text-column C --target-file T --out F`: the resample is always a new file. An existing file at F (one
// that has nothing to do with the inputs) or a link there is refused with exit 2 and left byte for byte as it was,
// like apply's --out; a new F is written whole, with no temporary file left beside it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DIST, tempDir } from './helpers';

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function inputs(): { dir: string; csv: string; target: string } {
  const dir = tempDir();
  const csv = join(dir, 'rows.csv');
  writeFileSync(csv, `text\n${Array.from({ length: 20 }, (_, i) => (i % 2 ? `the shepherd leads me ${i}` : `stock prices fell ${i}`)).join('\n')}\n`);
  const target = join(dir, 'target.txt');
  writeFileSync(target, 'the lord is my shepherd\nhe leads me beside still waters\n');
  return { dir, csv, target };
}

test('an existing unrelated --out file is refused (exit 2, says to choose a new path) and left unchanged', () => {
  const { dir, csv, target } = inputs();
  const out = join(dir, 'notes.csv');
  writeFileSync(out, 'my own notes\n');
  const { code, stdout, stderr } = cli('csv', csv, '--text-column', 'text', '--target-file', target, '--out', out, '--k', '3');
  assert.equal(code, 2);
  assert.equal(stdout, '');
  assert.equal(stderr, `importance-lens: --out ${out} already exists; the resample is written to a new file and never replaces one: choose a new path\n`);
  assert.equal(readFileSync(out, 'utf8'), 'my own notes\n');
  const link = join(dir, 'link.csv');
  symlinkSync(join(dir, 'elsewhere.csv'), link);
  assert.equal(cli('csv', csv, '--text-column', 'text', '--target-file', target, '--out', link, '--k', '3').code, 2, 'a dangling link is no new path either');
  assert.deepEqual(readdirSync(dir).sort(), ['link.csv', 'notes.csv', 'rows.csv', 'target.txt']);
});

test('a new --out path gets the header and k rows, with no temporary file left', () => {
  const { dir, csv, target } = inputs();
  const out = join(dir, 'picked.csv');
  const { code, stderr } = cli('csv', csv, '--text-column', 'text', '--target-file', target, '--out', out, '--k', '3', '--json');
  assert.equal(code, 0, stderr);
  const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
  assert.equal(lines[0], 'text');
  assert.equal(lines.length, 4);
  assert.deepEqual(readdirSync(dir).sort(), ['picked.csv', 'rows.csv', 'target.txt']);
});
