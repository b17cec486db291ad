// npm run bench (forward passes): tokens/s of one forward pass and seconds for occlusion saliency of a 256-token
// text on the shipped sample model, against the plain-torch reference (bench/torch_forward.py, Debian's torch on
// the CPU) doing the same work in the same run. Ratios only; nothing here is asserted in `npm test`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drain } from '../src/analyses';
import { saliency } from '../src/analyses/saliency';
import { LanguageModel } from '../src/compute/languageModel';
import { TextTokenizer } from '../src/compute/tokenizer';
import { ROOT } from '../test/unit/helpers';

const MODEL = join(ROOT, 'samples', 'tiny-llama-kjv');
const TOKENS = 256;

async function best(runs: number, run: () => Promise<unknown>): Promise<number> {
  let fastest = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await run();
    fastest = Math.min(fastest, (performance.now() - start) / 1000);
  }
  return fastest;
}

export async function forwardBench(providers: string[]): Promise<string[]> {
  const text = (await import('node:fs')).readFileSync(join(ROOT, 'samples', 'text', 'john-1.txt'), 'utf8');
  const spans = (await (await TextTokenizer.load(MODEL)).encode(text)).slice(0, TOKENS);
  const ids = spans.map((s) => s.id);
  const window = text.slice(0, spans[spans.length - 1]!.end);
  const model = await LanguageModel.open(MODEL, providers);
  let forward: number;
  try {
    await model.forward([ids]);
    forward = await best(5, () => model.forward([ids]));
  } finally {
    await model.release();
  }
  // The analysis as a user runs it (includes building the graph and session: reported separately below).
  const occlusion = await best(2, () => drain(saliency({ model: MODEL, text: { text: window }, method: 'occlusion', seeds: 1, providers, maxTokens: TOKENS })));
  const open = await best(2, async () => (await LanguageModel.open(MODEL, providers)).release());

  const idsFile = join(mkdtempSync(join(tmpdir(), 'il-bench-')), 'ids.json');
  writeFileSync(idsFile, JSON.stringify(ids));
  const torch = JSON.parse(execFileSync('/usr/bin/python3', [join(ROOT, 'bench', 'torch_forward.py'), MODEL, idsFile], { encoding: 'utf8' })) as { forwardSeconds: number; occlusionSeconds: number };
  return [
    `forward pass, ${ids.length} tokens, sample model (${model.device}): ${(ids.length / forward).toFixed(0)} tokens/s; torch CPU ${(ids.length / torch.forwardSeconds).toFixed(0)} tokens/s; ratio ${(torch.forwardSeconds / forward).toFixed(2)}× (goal ≥ 1)`,
    `occlusion saliency, ${ids.length}-token text (${ids.length - 1} variants, batched): ${occlusion.toFixed(2)} s incl. ${open.toFixed(2)} s to build the graph and session; torch CPU ${torch.occlusionSeconds.toFixed(2)} s; ratio ${(torch.occlusionSeconds / occlusion).toFixed(2)}× (goal ≥ 1)`,
  ];
}
