// npm run bench:moe-grad: peak RSS and wall time of the weight-gradient metrics on MoE models (taylor, fisher
// through the CLI) against the forward pass on the same text (`layers --metric block-influence`, the baseline, in
// the same run), on the tiny moe-mixtral fixture and on bench/moe.bench.ts's synthetic Mixtral shape (32 experts of
// width 512 per block, hidden 512, ~200 MB of F32 weights). Goal (docs/engine.md, weight gradients on MoE blocks):
// taylor's peak RSS within ~2× of the forward's, the experts streamed, one expert's gradients held. Figures only;
// nothing is asserted.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../test/unit/helpers';
import { writeModel } from './moe.bench';
import { timed } from './timing';

const CLI = join(ROOT, 'dist', 'cli.js');
const TEXT = join(ROOT, 'samples', 'text', 'john-1.txt');

function run(model: string, metric: string, tokens: number): string {
  const t = timed(process.execPath, [CLI, 'layers', model, '--metric', metric, '--text-file', TEXT, '--max-tokens', String(tokens), '--json']);
  return `${metric} ${t.seconds.toFixed(1)} s / ${t.peakMb.toFixed(0)} MB`;
}

function main(): void {
  const root = mkdtempSync(join(tmpdir(), 'il-moe-grad-bench-'));
  try {
    const synthetic = join(root, 'mixtral-32x512');
    writeModel(synthetic, 2);
    const lines = [`${new Date().toISOString()}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`];
    for (const [name, model, tokens, fisherTokens] of [['moe-mixtral fixture', join(ROOT, 'test/fixtures/models/moe-mixtral'), 64, 16], ['synthetic Mixtral 32×512', synthetic, 128, 16]] as const) {
      lines.push(`${name}: ${run(model, 'block-influence', tokens)} (baseline, ${tokens} tokens); ${run(model, 'taylor', tokens)} (${tokens} tokens); ${run(model, 'fisher', fisherTokens)} (${fisherTokens} tokens)`);
    }
    lines.push(`load after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    for (const line of lines) console.log(line);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) main();
