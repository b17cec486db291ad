// npm run bench:taylor-batches: peak RSS and wall time of `layers --metric taylor` on a text that needs several
// backward batches, on a generated Qwen2.5-0.5B-shaped checkpoint (bench/realShapes.ts; default
// /tmp/importance-lens-real-shapes/qwen0.5b, or the directory given as the first argument) whose context is cut to
// 512 tokens in a copy of its config (the weights are linked, not copied), so 2 100 tokens make four 512-token
// windows and a 52-token tail: two batches. Baseline in the same run: the forward pass on the same text (`layers
// --metric block-influence`). With BEFORE_CLI=<an older build's dist/cli.js>, that build's taylor is timed too (the
// before/after in docs/benchmarks.md). Figures only; nothing is asserted.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../test/unit/helpers';
import { timed } from './timing';

const CLI = join(ROOT, 'dist', 'cli.js');
const TOKENS = 2100;
const CONTEXT = 512;

function run(cli: string, model: string, metric: string, text: string): string {
  const t = timed(process.execPath, [cli, 'layers', model, '--metric', metric, '--text-file', text, '--max-tokens', String(TOKENS), '--json']);
  return `${t.seconds.toFixed(1)} s wall, ${t.cpuSeconds.toFixed(1)} s CPU, ${t.peakMb.toFixed(0)} MB peak RSS`;
}

function main(): void {
  const source = process.argv[2] ?? '/tmp/importance-lens-real-shapes/qwen0.5b';
  if (!existsSync(join(source, 'config.json'))) throw new Error(`${source}: no checkpoint; generate it with npm run bench:real first`);
  const root = mkdtempSync(join(tmpdir(), 'il-taylor-batches-'));
  try {
    const model = join(root, 'model');
    mkdirSync(model);
    const config = JSON.parse(readFileSync(join(source, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(model, 'config.json'), JSON.stringify({ ...config, max_position_embeddings: CONTEXT }));
    for (const file of ['model.safetensors', 'tokenizer.json']) symlinkSync(join(source, file), join(model, file));
    // john-1.txt is ~1 300 tokens: repeated, it passes TOKENS.
    const text = join(root, 'text.txt');
    const passage = readFileSync(join(ROOT, 'samples', 'text', 'john-1.txt'), 'utf8');
    writeFileSync(text, `${passage}\n${passage}\n${passage}`);
    console.log(`${new Date().toISOString()}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ${TOKENS} tokens, context ${CONTEXT}`);
    console.log(`forward (block-influence, baseline): ${run(CLI, model, 'block-influence', text)}`);
    const before = process.env.BEFORE_CLI;
    if (before) console.log(`taylor (${before}): ${run(before, model, 'taylor', text)}`);
    console.log(`taylor (this build): ${run(CLI, model, 'taylor', text)}`);
    console.log(`load after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) main();
