// npm run bench:moe-taylor: what the MoE gradient follow-ups save (docs/benchmarks.md). (1) `experts` without and
// with --taylor (the opt-in backward pass for each expert's Taylor column): wall time and peak RSS through the CLI.
// (2) head-taylor's backward with and without the MoE MLP's weight gradients (lossGradients' withoutMoeWeights, which
// head-taylor now asks for; the other run is what it computed before): wall time and peak RSS of a child process
// each. On the tiny moe-mixtral fixture and bench/moe.bench.ts's synthetic Mixtral shape (2 blocks of 32 experts of
// width 512, hidden 512). Best of two runs each, baseline and variant in the same run. Figures only; nothing is asserted.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { drain } from '../src/analyses';
import { lossGradients } from '../src/analyses/taylor';
import { tokenizeText } from '../src/analyses/textInput';
import { LanguageModel } from '../src/compute/languageModel';
import { ROOT } from '../test/unit/helpers';
import { writeModel } from './moe.bench';
import { best, timed } from './timing';

const CLI = join(ROOT, 'dist', 'cli.js');
const TEXT = join(ROOT, 'samples', 'text', 'john-1.txt');

const show = (t: { seconds: number; peakMb: number }) => `${t.seconds.toFixed(2)} s / ${t.peakMb.toFixed(0)} MB`;

function experts(model: string, tokens: number, taylor: boolean): string {
  const args = [CLI, 'experts', model, '--text-file', TEXT, '--max-tokens', String(tokens), '--json', ...(taylor ? ['--taylor'] : [])];
  return show(best(2, () => timed(process.execPath, args)));
}

function headBackward(model: string, tokens: number, moeWeights: boolean): string {
  return show(best(2, () => timed(process.execPath, [__filename, 'child', model, String(tokens), moeWeights ? 'with' : 'without'])));
}

/** The child: one lossGradients pass as head-taylor runs it, with or without the MoE MLP's weight gradients. */
async function child(model: string, tokens: number, moeWeights: boolean): Promise<void> {
  const runner = await LanguageModel.open(model, ['cpu']);
  try {
    const text = await tokenizeText(runner, { text: readFileSync(TEXT, 'utf8') }, tokens);
    let total = 0;
    await drain(lossGradients(runner, text, 'bench', (_layer, sums, weights) => {
      for (const [key, g] of Object.entries(sums)) for (let i = 0; i < g.length; i++) total += Math.abs(g[i]! * weights[key]![i]!);
    }, undefined, moeWeights ? undefined : { withoutMoeWeights: true }));
    if (!Number.isFinite(total)) throw new Error('non-finite scores');
  } finally {
    await runner.release();
  }
}

function main(): void {
  const root = mkdtempSync(join(tmpdir(), 'il-moe-taylor-bench-'));
  try {
    const synthetic = join(root, 'mixtral-32x512');
    writeModel(synthetic, 2);
    const lines = [`${new Date().toISOString()}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`];
    for (const [name, model, tokens] of [['moe-mixtral fixture', join(ROOT, 'test/fixtures/models/moe-mixtral'), 64], ['synthetic Mixtral 32×512', synthetic, 128]] as const) {
      lines.push(`${name}, ${tokens} tokens: experts ${experts(model, tokens, false)} (default); experts --taylor ${experts(model, tokens, true)}`);
      lines.push(`${name}, ${tokens} tokens: head-taylor backward with the MoE weight gradients ${headBackward(model, tokens, true)} (before); without ${headBackward(model, tokens, false)} (now)`);
    }
    lines.push(`load after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    for (const line of lines) console.log(line);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) {
  if (process.argv[2] === 'child') void child(process.argv[3]!, Number(process.argv[4]), process.argv[5] === 'with');
  else main();
}
