// Prints how the CSV column importances agree with scikit-learn's on its bundled datasets (test/fixtures/csv,
// golden.json from make_fixtures.py): Spearman rank correlation of mutual information and of permutation
// importance, and scikit-learn's agreement with itself under other seeds. Run after `npm run build`:
//   node scripts/csv-agreement.mjs
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const fixtures = join(root, 'test', 'fixtures', 'csv');
const golden = JSON.parse(readFileSync(join(fixtures, 'golden.json'), 'utf8'));
const cli = (...args) => JSON.parse(execFileSync(process.execPath, [join(root, 'dist', 'cli.js'), ...args, '--json'], { encoding: 'utf8' }));

function ranks(values) {
  const order = values.map((v, i) => [v, i]).sort((a, b) => a[0] - b[0]);
  const out = new Array(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    for (let k = i; k <= j; k++) out[order[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}
function spearman(a, b) {
  const [ra, rb] = [ranks(a), ranks(b)];
  const mean = (v) => v.reduce((s, x) => s + x, 0) / v.length;
  const [ma, mb] = [mean(ra), mean(rb)];
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < ra.length; i++) { sab += (ra[i] - ma) * (rb[i] - mb); saa += (ra[i] - ma) ** 2; sbb += (rb[i] - mb) ** 2; }
  return sab / Math.sqrt(saa * sbb);
}

console.log('dataset         task            rows  MI rho  permutation rho  (sklearn vs itself)');
for (const [name, g] of Object.entries(golden)) {
  if (name === 'wine_onnx') continue;
  const result = cli('csv', join(fixtures, `${name}.csv`), '--target', g.target);
  const by = new Map(result.columns.map((c) => [c.name, c]));
  const mi = spearman(g.columns.map((c) => by.get(c).mutualInformation), g.mutualInformation);
  const perm = spearman(g.columns.map((c) => by.get(c).permutation.mean), g.permutation);
  console.log(`${name.padEnd(15)} ${result.task.padEnd(15)} ${String(result.rows).padStart(4)}  ${mi.toFixed(3)}   ${perm.toFixed(3)}            (${g.permutationSelfAgreement.toFixed(3)})`);
}
const onnx = cli('csv', join(fixtures, 'wine.csv'), '--target', 'cultivar', '--model', join(fixtures, 'wine_logreg.onnx'));
const by = new Map(onnx.columns.map((c) => [c.name, c]));
console.log(`wine, ONNX logistic regression: accuracy ${onnx.model.score.toFixed(3)} (sklearn ${golden.wine_onnx.accuracy.toFixed(3)}), permutation rho ${spearman(golden.wine_onnx.columns.map((c) => by.get(c).permutation.mean), golden.wine_onnx.permutation).toFixed(3)}, device ${onnx.device}`);
