// Column importance on real datasets (scikit-learn's, written by test/fixtures/csv/make_fixtures.py) against
// scikit-learn's own numbers in golden.json: rank agreement (Spearman) of mutual information and of permutation
// importance; a user's ONNX model; DSIR row weights and resampling; the CLI contract for `inspect` and `csv`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { csvColumns } from '../../src/analyses/csv/csvColumns';
import { csvRows } from '../../src/analyses/csv/csvRows';
import { ExtremeRows, PREVIEW_CHARS, weightHistogram } from '../../src/analyses/csv/extremeRows';
import { mutualInformation } from '../../src/analyses/csv/mutualInfo';
import { spearman } from '../../src/analyses/csv/permutation';
import { seededRandom } from '../../src/compute/random';
import { DIST, ROOT, tempDir, writeTemp } from './helpers';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'csv');
interface Golden { target: string; task: string; rows: number; columns: string[]; mutualInformation: number[]; permutation: number[]; permutationSelfAgreement: number }
const golden = JSON.parse(readFileSync(join(FIXTURES, 'golden.json'), 'utf8')) as Record<string, Golden> & { wine_onnx: { columns: string[]; accuracy: number; permutation: number[] } };

// Permutation importance of a forest is a noisy quantity: scikit-learn's own reference, recomputed with other seeds,
// agrees with itself only so far (permutationSelfAgreement: 0.51 on breast_cancer, whose 30 strongly correlated
// columns share importance arbitrarily). We ask for 0.8, or for as much as scikit-learn agrees with itself.

for (const name of ['iris', 'wine', 'breast_cancer', 'diabetes']) {
  test(`${name}: importance ranks agree with scikit-learn`, async () => {
    const g = golden[name]!;
    const result = await drain(csvColumns({ path: join(FIXTURES, `${name}.csv`), target: g.target }));
    assert.equal(result.task, g.task);
    assert.equal(result.rows, g.rows);
    const by = new Map(result.columns.map((c) => [c.name, c]));
    assert.deepEqual([...by.keys()].sort(), [...g.columns].sort());
    const mi = spearman(g.columns.map((c) => by.get(c)!.mutualInformation), g.mutualInformation)!;
    const perm = spearman(g.columns.map((c) => by.get(c)!.permutation!.mean), g.permutation)!;
    assert.ok(mi >= 0.8, `mutual information rank correlation ${mi.toFixed(3)} >= 0.8`);
    const floor = Math.min(0.8, g.permutationSelfAgreement);
    assert.ok(perm >= floor, `permutation rank correlation ${perm.toFixed(3)} >= ${floor.toFixed(3)}`);
    assert.ok(result.columns.every((c, i) => c.rank === i + 1 && c.method === 'mutual-information' && c.importance === c.mutualInformation));
    assert.ok(result.model!.score > (g.task === 'classification' ? 0.85 : 0.3), `model score ${result.model!.score}`);
  });
}

test('a user ONNX model (inputs named after the columns) gives permutation importance like scikit-learn\'s', async () => {
  const g = golden.wine_onnx;
  const result = await drain(csvColumns({ path: join(FIXTURES, 'wine.csv'), target: 'cultivar', model: join(FIXTURES, 'wine_logreg.onnx'), providers: ['cpu'] }));
  assert.equal(result.model!.kind, 'onnx');
  assert.ok(Math.abs(result.model!.score - g.accuracy) < 1e-9, `accuracy ${result.model!.score} vs ${g.accuracy}`);
  assert.equal(result.device, 'cpu');
  const by = new Map(result.columns.map((c) => [c.name, c]));
  const rho = spearman(g.columns.map((c) => by.get(c)!.permutation!.mean), g.permutation)!;
  assert.ok(rho >= 0.8, `rank correlation ${rho.toFixed(3)}`);
  assert.ok(result.columns.every((c) => c.method === 'permutation' && c.importance === c.permutation!.mean));
});

test('a synthetic file with known answers: signal and category above noise, text skipped, missing targets left out', async () => {
  const { seededRandom } = await import('../../src/compute/random');
  const random = seededRandom(3);
  const rows = ['noise,signal,colour,note,y,label'];
  for (let i = 0; i < 3000; i++) {
    const signal = random() * 10;
    const colour = ['red', 'green', 'blue'][Math.floor(random() * 3)]!;
    const y = 2 * signal + (colour === 'red' ? 8 : 0) + random();
    rows.push([i % 50 === 0 ? '' : (random() * 10).toFixed(3), signal.toFixed(3), colour, `"note ${i}: ${random()}"`, i % 100 === 0 ? 'NA' : y.toFixed(3), y > 12 ? 'high' : 'low'].join(','));
  }
  const path = writeTemp(tempDir(), 'synthetic.csv', `${rows.join('\n')}\n`);
  const regression = await drain(csvColumns({ path, target: 'y', repeats: 3 }));
  assert.equal(regression.task, 'regression');
  assert.equal(regression.rows, 3000);
  assert.deepEqual(regression.columns.map((c) => c.name), ['signal', 'label', 'colour', 'noise']);
  assert.deepEqual(regression.skipped.map((s) => s.name), ['note']);
  assert.ok(regression.columns.find((c) => c.name === 'noise')!.mutualInformation < 0.01);
  assert.equal(regression.columns.find((c) => c.name === 'noise')!.missing, 60);
  assert.ok(regression.model!.score > 0.9 && regression.agreement! >= 0.8, `R² ${regression.model!.score}, agreement ${regression.agreement}`);
  const classification = await drain(csvColumns({ path, target: 'label', repeats: 3 }));
  assert.equal(classification.task, 'classification');
  assert.equal(classification.columns[classification.columns.length - 1]!.name, 'noise');
});

test('a file sorted by a column is warned about (the fine cut points come from the first rows)', async () => {
  const rows = ['t,y', ...Array.from({ length: 60_000 }, (_, i) => `${i},${i % 2}`)];
  const result = await drain(csvColumns({ path: writeTemp(tempDir(), 'sorted.csv', `${rows.join('\n')}\n`), target: 'y', repeats: 1 }));
  assert.ok(result.warnings.some((w) => /column 't': 67% of its values lie beyond the range of the first 20000 rows/.test(w)), result.warnings.join('\n'));
});

test('a wide file: the built-in model permutes only the 100 columns with the most mutual information', async () => {
  const { seededRandom } = await import('../../src/compute/random');
  const random = seededRandom(5);
  const header = [...Array.from({ length: 150 }, (_, c) => `c${c}`), 'y'];
  const rows = Array.from({ length: 300 }, () => {
    const x = Array.from({ length: 150 }, () => random());
    return [...x.map((v) => v.toFixed(3)), x[0]! + x[1]! > 1 ? 'yes' : 'no'].join(',');
  });
  const result = await drain(csvColumns({ path: writeTemp(tempDir(), 'wide.csv', `${header.join(',')}\n${rows.join('\n')}\n`), target: 'y', repeats: 2 }));
  assert.equal(result.columns.length, 150);
  assert.equal(result.columns.filter((c) => c.permutation !== null).length, 100);
  assert.deepEqual(result.columns.slice(0, 2).map((c) => c.name).sort(), ['c0', 'c1']);
  assert.ok(result.warnings.some((w) => /permutation importance of the 100 columns with the most mutual information only \(of 150\)/.test(w)));
});

test('an ONNX model with one [N, F] input is fed the columns by position, with a warning', async () => {
  const named = await drain(csvColumns({ path: join(FIXTURES, 'wine.csv'), target: 'cultivar', model: join(FIXTURES, 'wine_logreg.onnx'), providers: ['cpu'] }));
  const single = await drain(csvColumns({ path: join(FIXTURES, 'wine.csv'), target: 'cultivar', model: join(FIXTURES, 'wine_logreg_single.onnx'), providers: ['cpu'] }));
  assert.deepEqual(single.columns.map((c) => [c.name, c.importance]), named.columns.map((c) => [c.name, c.importance]));
  assert.ok(single.warnings.some((w) => /model input 'float_input' is one \[N, 13\] tensor: columns are fed by position/.test(w)));
  await assert.rejects(drain(csvColumns({ path: join(FIXTURES, 'iris.csv'), target: 'species', model: join(FIXTURES, 'wine_logreg_single.onnx'), providers: ['cpu'] })), /takes 13 features but the CSV has 4/);
});

test('mutual information: independent columns ~0, a copy of the target = H(target)', () => {
  const independent = Float64Array.from([250, 250, 250, 250]);
  assert.equal(mutualInformation(independent, 2, 2), 0);
  const copy = Float64Array.from([500, 0, 0, 500]);
  assert.ok(Math.abs(mutualInformation(copy, 2, 2) - (Math.log(2) + 1 / 2000)) < 1e-12);
});

test('DSIR: rows like the target sample weigh more; resampling writes a new file, never the source', async () => {
  const dir = tempDir();
  const rows = ['id,text', ...Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? `${i},"the lord is my shepherd, I shall not want"` : `${i},"stock prices fell sharply on monday"`))];
  const path = writeTemp(dir, 'data.csv', `${rows.join('\n')}\n`);
  const target = writeTemp(dir, 'target.txt', 'The Lord is my shepherd.\nHe maketh me to lie down in green pastures.\n');
  const out = join(dir, 'picked.csv');
  const result = await drain(csvRows({ path, textColumn: 'text', targetFile: target, out, k: 5 }));
  assert.equal(result.rows.length, 40);
  assert.deepEqual(result.rows.slice(0, 2).map((r) => r.line), [2, 3]);
  assert.ok(result.rows[0]!.weight > result.rows[1]!.weight);
  // The highest and lowest rows come with their text, best first / worst first, ties in file order.
  assert.deepEqual(result.highest.slice(0, 2).map((r) => [r.line, r.text]), [[2, 'the lord is my shepherd, I shall not want'], [6, 'the lord is my shepherd, I shall not want']]);
  assert.equal(result.highest.length, 25);
  assert.deepEqual(result.lowest[0], { line: 3, weight: result.rows[1]!.weight, text: 'stock prices fell sharply on monday' });
  const written = readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(written[0], 'id,text');
  assert.equal(written.length, 6);
  assert.deepEqual(result.resampled!.lines.map((line) => rows[line - 1]), written.slice(1));
  await assert.rejects(drain(csvRows({ path, textColumn: 'text', targetFile: target, out: path })), /never over its source/);
  // A CSV target sample: its column of the same name; the same n-grams give the same weights.
  const targetCsv = writeTemp(dir, 'target.csv', 'text\n"The Lord is my shepherd."\n"He maketh me to lie down in green pastures."\n');
  const again = await drain(csvRows({ path, textColumn: 'text', targetFile: targetCsv }));
  assert.deepEqual(again.rows, result.rows);
  assert.equal(again.resampled, null);
});

test('extreme rows: the same as sorting every row (ties in file order), text cut to a preview', () => {
  const random = seededRandom(3);
  const extremes = new ExtremeRows(7);
  const rows = Array.from({ length: 2000 }, (_, i) => ({ line: i + 2, weight: Math.round(random() * 50) / 5, text: `row ${i}` }));
  for (const row of rows) extremes.add(row.line, row.weight, row.text);
  assert.deepEqual(extremes.highest, [...rows].sort((a, b) => b.weight - a.weight || a.line - b.line).slice(0, 7));
  assert.deepEqual(extremes.lowest, [...rows].sort((a, b) => a.weight - b.weight || a.line - b.line).slice(0, 7));
  const histogram = weightHistogram(Float64Array.from(rows, (r) => r.weight), 4);
  assert.deepEqual(histogram.edges, [0, 2.5, 5, 7.5, 10]);
  assert.deepEqual(histogram.counts, [0, 1, 2, 3].map((b) => rows.filter((r) => Math.min(3, Math.floor(r.weight / 2.5)) === b).length));
  assert.deepEqual(weightHistogram(Float64Array.of(-1, -1)), { edges: [-1, -1], counts: [2] });
  assert.deepEqual(weightHistogram(new Float64Array(0)), { edges: [], counts: [] });
  const long = new ExtremeRows(1);
  long.add(2, 1, 'x'.repeat(PREVIEW_CHARS + 10));
  assert.equal(long.highest[0]!.text, `${'x'.repeat(PREVIEW_CHARS)}…`);
});

function cli(...args: string[]) {
  return spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args], { encoding: 'utf8' });
}

test('CLI: inspect on a CSV, csv --target and --text-column follow the contract; bad input exits 2 with one line', () => {
  const inspect = cli('inspect', join(FIXTURES, 'iris.csv'), '--json');
  assert.equal(inspect.status, 0, inspect.stderr);
  const doc = JSON.parse(inspect.stdout);
  assert.equal(doc.format, 'csv');
  assert.equal(doc.rows, 150);
  const { mean, ...first } = doc.columns[0];
  assert.deepEqual(first, { name: 'sepal_length_cm', type: 'number', missing: 0, distinct: 35, min: 4.3, max: 7.9 });
  assert.ok(Math.abs(mean - 5.843333333333334) < 1e-12, `mean ${mean}`); // numpy: iris.data[:, 0].mean()
  assert.deepEqual(doc.columns.at(-1), { name: 'species', type: 'number', missing: 0, distinct: 3, min: 0, max: 2, mean: 1 });
  const columns = cli('csv', join(FIXTURES, 'iris.csv'), '--target', 'species', '--json');
  assert.equal(columns.status, 0, columns.stderr);
  const c = JSON.parse(columns.stdout);
  assert.equal(c.target, 'species');
  assert.equal(c.task, 'classification');
  for (const column of c.columns) for (const key of ['name', 'importance', 'method', 'rank']) assert.ok(key in column);
  const dir = tempDir();
  const bad = writeTemp(dir, 'bad.csv', 'a,b\n1,2\n3\n');
  const refused = cli('csv', bad, '--target', 'a', '--json');
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /^importance-lens: .*line 3: 1 field, but the header has 2 \(ragged row\)\n$/);
  const missing = cli('csv', join(FIXTURES, 'iris.csv'), '--target', 'nope');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^importance-lens: .*no column 'nope'/);
});

test('CLI: report on a CSV embeds the Dataset view (profile, and the analysis the options ask for); CSV options elsewhere exit 2', () => {
  const dir = tempDir();
  const out = join(dir, 'iris.html');
  const done = cli('report', join(FIXTURES, 'iris.csv'), '--target', 'species', '--repeats', '2', '--out', out, '--json');
  assert.equal(done.status, 0, done.stderr);
  assert.deepEqual(JSON.parse(done.stdout), { out, analysis: 'csv' });
  const embedded = /<script type="application\/json" id="importance-lens-initial">(.*?)<\/script>/s.exec(readFileSync(out, 'utf8'))![1]!;
  const message = JSON.parse(embedded);
  assert.equal(message.type, 'datasetResult');
  assert.equal(message.view.profile.rows, 150);
  assert.equal(message.view.analysis.target, 'species');
  const profileOnly = cli('report', join(FIXTURES, 'iris.csv'), '--out', join(dir, 'profile.html'), '--json');
  assert.equal(profileOnly.status, 0, profileOnly.stderr);
  const refused = cli('report', join(ROOT, 'samples', 'tiny-llama-random'), '--target', 'x', '--out', join(dir, 'model.html'));
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /^importance-lens: report: --target applies to a CSV file only\n$/);
});

test('DSIR on a file whose lines end in a lone CR: the resample keeps that line ending', async () => {
  const dir = tempDir();
  const path = writeTemp(dir, 'mac.csv', 'id,text\r1,"buoy light"\r2,"cable area"\r3,"lateral buoy"');
  const target = writeTemp(dir, 'target.txt', 'buoy\n');
  const out = join(dir, 'picked.csv');
  const result = await drain(csvRows({ path, textColumn: 'text', targetFile: target, out, k: 3 }));
  assert.deepEqual(result.rows.map((r) => r.line), [2, 3, 4]);
  assert.equal(readFileSync(out, 'utf8'), 'id,text\r1,"buoy light"\r2,"cable area"\r3,"lateral buoy"\r');
});
