// npm run demo: the main jobs on the shipped samples. Prints the checkpoint summary, which blocks of the trained
// sample model matter on a held-out text (Block Influence and ablation), its perplexity, and which tokens drove
// one prediction; writes the results as JSON and the checkpoint summary as a self-contained HTML report under
// demo-output/ (git-ignored; the samples themselves are never written).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist', 'cli.js');
const model = join('samples', 'tiny-llama-kjv');
const text = join('samples', 'text', 'john-1.txt');
const out = join(root, 'demo-output');
mkdirSync(out, { recursive: true });

const run = (...args) => execFileSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const show = (...args) => process.stdout.write(`$ importance-lens ${args.join(' ')}\n${run(...args)}\n`);
const save = (name, ...args) => {
  const path = join(out, name);
  writeFileSync(path, run(...args, '--json'));
  return path;
};

show('inspect', model);
show('layers', model, '--metric', 'block-influence', '--text-file', text, '--max-tokens', '256');
show('layers', model, '--metric', 'ablation', '--text-file', text, '--max-tokens', '256');
show('perplexity', model, '--text-file', text);
const prompt = 'The LORD is my shepherd; I shall not';
show('saliency', model, '--text', prompt, '--target', ' want', '--method', 'reagent', '--seeds', '5');

const written = [
  save('tiny-llama-kjv.inspect.json', 'inspect', model),
  save('tiny-llama-kjv.block-influence.json', 'layers', model, '--metric', 'block-influence', '--text-file', text, '--max-tokens', '256'),
  save('tiny-llama-kjv.saliency.json', 'saliency', model, '--text', prompt, '--target', ' want', '--method', 'reagent', '--seeds', '5'),
];
const report = join(out, 'tiny-llama-kjv.report.html');
run('report', model, '--out', report);
process.stdout.write(`${written.map((p) => `wrote ${p}`).join('\n')}\nwrote ${report} (open it in a browser)\n`);
