// npm run demo: the main job on the shipped sample. Prints the checkpoint summary, then writes the same result as
// JSON and as a self-contained HTML report under demo-output/ (git-ignored; the sample itself is never written).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist', 'cli.js');
const sample = join(root, 'samples', 'tiny-llama-random');
const out = join(root, 'demo-output');
mkdirSync(out, { recursive: true });

const run = (...args) => execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

process.stdout.write(`$ importance-lens inspect samples/tiny-llama-random\n${run('inspect', sample)}\n`);
const json = join(out, 'tiny-llama-random.inspect.json');
writeFileSync(json, run('inspect', sample, '--json'));
const report = join(out, 'tiny-llama-random.report.html');
run('report', sample, '--out', report);
process.stdout.write(`\nwrote ${json}\nwrote ${report} (open it in a browser)\n`);
