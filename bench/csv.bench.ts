// npm run bench (CSV): column importance on a generated ~1 GB CSV. Mutual information throughput in MB/s against
// bench/pandas_mi.py (pandas read_csv + qcut + crosstab, the same estimator) in the same run, and the peak RSS of
// the whole `importance-lens csv --target` command (MI over every row + permutation importance) in a child process.
// Ratios only; nothing here is asserted in `npm test`.
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drain } from '../src/analyses';
import { columnPass } from '../src/analyses/csv/columnPass';
import { seededRandom } from '../src/compute/random';
import { openCsv } from '../src/formats/csv/reader';
import { DIST, ROOT } from '../test/unit/helpers';

/** Writes a seeded CSV of about `bytes`: 8 number columns (two informative), a category, a 3-class target. */
async function generate(path: string, bytes: number): Promise<void> {
  const random = seededRandom(7);
  const out = createWriteStream(path);
  out.write('x0,x1,x2,x3,x4,x5,x6,x7,group,label\n');
  let written = 0;
  while (written < bytes) {
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const x = Array.from({ length: 8 }, () => (random() * 2 - 1) * 100);
      const label = x[0]! + 0.5 * x[1]! + (random() - 0.5) * 60 > 0 ? (x[2]! > 0 ? 2 : 1) : 0;
      lines.push(`${x.map((v) => v.toFixed(4)).join(',')},${'abcd'[Math.floor(random() * 4)]},${label}\n`);
    }
    const chunk = lines.join('');
    written += chunk.length;
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

export async function csvBench(bytes = 1_000_000_000): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'il-csv-bench-'));
  try {
    const path = join(dir, 'big.csv');
    await generate(path, bytes);
    const layout = await openCsv(path);
    const mb = layout.size / 1e6;
    const start = performance.now();
    await drain(columnPass(layout, 'label', 0));
    const ours = (performance.now() - start) / 1000;
    const pandas = JSON.parse(execFileSync('/usr/bin/python3', [join(ROOT, 'bench', 'pandas_mi.py'), path, 'label'], { encoding: 'utf8', maxBuffer: 1 << 24 })) as { seconds: number };
    const child = spawnSync('/usr/bin/time', ['-f', '%M %e', process.execPath, join(DIST, 'cli.js'), 'csv', path, '--target', 'label', '--json'], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const [rssKb, seconds] = (child.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number);
    return [
      `csv mutual information, ${mb.toFixed(0)} MB: ${(mb / ours).toFixed(0)} MB/s; pandas ${(mb / pandas.seconds).toFixed(0)} MB/s; ratio ${(pandas.seconds / ours).toFixed(2)}× (goal ≥ 1)`,
      `csv --target (MI + permutation importance), ${mb.toFixed(0)} MB: ${seconds?.toFixed(1)} s, peak RSS ${((rssKb ?? 0) / 1024).toFixed(0)} MB (goal < 300 MB)${child.status === 0 ? '' : `; exit ${child.status}: ${child.stderr.slice(0, 200)}`}`,
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) csvBench(Number(process.argv[2] ?? 1_000_000_000)).then((lines) => console.log(lines.join('\n')));
