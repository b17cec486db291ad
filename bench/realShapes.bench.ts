// npm run bench -- --real qwen0.5b,llama1b,llama7b (or BENCH_REAL=...; `npm run bench:real -- --real ...` runs only
// these): issue #13's real-shape figures. For each shape, a folder with the real config and tensor shapes and random
// BF16 weights (test/fixtures/realShapes.ts, under bench/.models/, reused between runs) is analysed by `node dist/cli.js`
// (Block Influence on 256 tokens, perplexity on 2 048; for the 7B shape also ablation of every block on 256) and by
// the plain float32 torch script bench/torch_real.py doing the same forward, each as a child process measured by GNU
// time (wall seconds, peak RSS). Ratios against torch from the same run; nothing here is asserted in `npm test`.
// Goals: ≥ 1.0× torch's speed with ≤ 1/3 of its peak RSS on the 0.5B and 1B shapes; the 7B shape runs at all, peak RSS
// < 2 GB (torch in float32 cannot load it on a 24 GB machine: the script says so instead of being OOM-killed).
// Gradient saliency (issue #17): integrated gradients (20 steps) and gradient × input explaining the last of 256 tokens,
// `saliency --method ig|grad-input` against torch autograd in the same script (goal ≥ 1.0× torch; peak RSS within 2×
// of the forward pass's).
// Saliency and Wanda (saliencyVsTorch, its own rows): Wanda on 256 tokens, attention rollout explaining the last of
// 256 tokens, occlusion and ReAGent (the same masks, written for the torch side by this bench) on shorter texts,
// against the same work in bench/torch_real.py (float32, batches of 64 rows, threads = cores); `--jobs wanda,
// occlusion,attention,reagent` or `reagent:256`; by default on the 0.5B shape only.
// `--jobs cancel` (on by default for the 7B shape): how long a cancel takes to take effect through the analysis
// process the extension uses, sent in the middle of a block's run (cancelLatency).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { reagentPlan, replacementMasks } from '../src/analyses/reagent';
import { TextTokenizer } from '../src/compute/tokenizer';
import { CancelledError } from '../src/errors';
import { AnalysisWorkerClient } from '../src/worker/client';
import { ROOT } from '../test/unit/helpers';
import { SHAPES, weightTwin, writeModelFolder } from '../test/fixtures/realShapes';
import { msUntilProcessGone } from './timing';

const CLI = join(ROOT, 'dist', 'cli.js');
const MODELS = process.env.BENCH_MODELS ?? join(ROOT, 'bench', '.models');
const OUT = join(ROOT, 'bench', '.out');
const TORCH = join(ROOT, 'bench', 'torch_real.py');
const PYTHON = '/usr/bin/python3';

interface Run { seconds: number; cpuSeconds: number; peakMb: number; code: number | null; stdout: string; stderr: string }

/** Wall seconds, CPU seconds (user + system) and peak RSS (MB) of a child process, from GNU time's last stderr line. */
function timed(command: string, args: string[]): Run {
  const run = spawnSync('/usr/bin/time', ['-f', 'BENCH-TIME %e %M %U %S', command, ...args], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  // GNU time adds "Command exited with non-zero status N" (or "terminated by signal") above its own line.
  const lines = run.stderr.trimEnd().split('\n').filter((l) => !/^Command exited with non-zero status/.test(l));
  const last = lines.pop() ?? '';
  const [, seconds, kb, user, sys] = last.split(' ');
  if (!last.startsWith('BENCH-TIME')) throw new Error(`${command} ${args.join(' ')}: no timing (${run.stderr})`);
  // GNU time reports the child's status as its own; a signal shows as "Command terminated by signal" above.
  return { seconds: Number(seconds), cpuSeconds: Number(user) + Number(sys), peakMb: Number(kb) / 1024, code: run.status, stdout: run.stdout, stderr: lines.join('\n') };
}

/** A text of at least `tokens` tokens under the sample tokenizer: the sample texts, repeated. */
async function benchText(model: string, tokens: number): Promise<{ file: string; idsFile: string }> {
  mkdirSync(OUT, { recursive: true });
  const parts = ['john-1.txt', 'psalms-23.txt'].map((f) => readFileSync(join(ROOT, 'samples', 'text', f), 'utf8'));
  const tokenizer = await TextTokenizer.load(model);
  let text = '';
  let ids: number[] = [];
  for (let i = 0; ids.length < tokens; i++) {
    text += parts[i % parts.length] + '\n';
    ids = (await tokenizer.encode(text)).map((s) => s.id);
  }
  const file = join(OUT, 'real-text.txt');
  const idsFile = join(OUT, 'real-ids.json');
  writeFileSync(file, text);
  writeFileSync(idsFile, JSON.stringify(ids));
  return { file, idsFile };
}

/** A text of exactly `tokens` tokens (the bench text cut after its token `tokens`): saliency explains one window whole. */
async function exactText(model: string, tokens: number): Promise<{ file: string; idsFile: string }> {
  const { file } = await benchText(model, tokens);
  const tokenizer = await TextTokenizer.load(model);
  const spans = await tokenizer.encode(readFileSync(file, 'utf8'));
  const text = readFileSync(file, 'utf8').slice(0, spans[tokens - 1]!.end);
  const ids = (await tokenizer.encode(text)).map((s) => s.id);
  if (ids.length !== tokens) throw new Error(`the bench text cut after token ${tokens} re-encodes to ${ids.length} tokens`);
  const exact = { file: join(OUT, `real-text-${tokens}.txt`), idsFile: join(OUT, `real-ids-${tokens}.json`) };
  writeFileSync(exact.file, text);
  writeFileSync(exact.idsFile, JSON.stringify(ids));
  return exact;
}

interface Job { analysis: 'bi' | 'ppl' | 'ablation' | 'ig' | 'grad-input' | 'cancel'; tokens: number }
const GRADIENT_JOBS: Job[] = [{ analysis: 'ig', tokens: 256 }, { analysis: 'grad-input', tokens: 256 }];
const JOBS: Record<string, Job[]> = {
  'qwen0.5b': [{ analysis: 'bi', tokens: 256 }, { analysis: 'ppl', tokens: 2048 }, ...GRADIENT_JOBS],
  llama1b: [{ analysis: 'bi', tokens: 256 }, { analysis: 'ppl', tokens: 2048 }],
  'llama1b-norope': [{ analysis: 'bi', tokens: 256 }, { analysis: 'ppl', tokens: 2048 }],
  llama7b: [{ analysis: 'bi', tokens: 256 }, { analysis: 'ablation', tokens: 256 }, { analysis: 'cancel', tokens: 256 }, { analysis: 'ppl', tokens: 2048 }],
};
const LABEL = { bi: 'Block Influence', ppl: 'perplexity', ablation: 'ablation, every block', ig: 'saliency IG, 20 steps', 'grad-input': 'saliency grad × input', cancel: 'cancel' } as const;
const IG_STEPS = 20;

/**
 * Block Influence through the analysis process (dist/worker.js, as the extension runs it), cancelled half a block
 * after the first block's step arrived, so that the cancel lands inside a block's onnxruntime run: milliseconds from
 * the abort to the job's rejection, and to the process that ran it being gone.
 */
async function cancelLatency(dir: string, text: string, tokens: number): Promise<string> {
  const client = new AnalysisWorkerClient(join(ROOT, 'dist', 'worker.js'));
  const controller = new AbortController();
  let firstStep = 0;
  let abortedAt = 0;
  let pid: number | undefined;
  const job = client.run({ analysis: 'layers', path: dir, metric: 'block-influence', text: { file: text }, maxTokens: tokens }, {
    signal: controller.signal,
    onProgress: (p) => {
      if (firstStep || !/block 1 \//.test(p.message)) return;
      firstStep = Date.now();
      pid = client.pid;
      const seconds = Number(/, ([\d.]+) s/.exec(p.message)?.[1] ?? 1);
      setTimeout(() => { abortedAt = Date.now(); controller.abort(); }, (seconds * 1000) / 2);
    },
  });
  try {
    await job;
    return 'finished before the cancel';
  } catch (error) {
    const rejected = Date.now() - abortedAt;
    if (!(error instanceof CancelledError)) return `failed: ${String(error)}`;
    const gone = await msUntilProcessGone(pid!, abortedAt, 100);
    return `cancelled ${rejected} ms after the abort, its process gone after ${Number.isNaN(gone) ? '> 5 s' : `${gone} ms`}`;
  } finally {
    client.dispose();
  }
}

function cliArgs(dir: string, job: Job, text: string): string[] {
  if (job.analysis === 'ig' || job.analysis === 'grad-input') {
    return [CLI, 'saliency', dir, '--method', job.analysis, ...(job.analysis === 'ig' ? ['--steps', String(IG_STEPS)] : []), '--text-file', text, '--json'];
  }
  const common = ['--text-file', text, '--max-tokens', String(job.tokens), '--json'];
  if (job.analysis === 'ppl') return [CLI, 'perplexity', dir, ...common];
  return [CLI, 'layers', dir, '--metric', job.analysis === 'bi' ? 'block-influence' : 'ablation', ...common];
}

/** How far the two sides' numbers are apart (max |Δ| of the block scores, or of the mean NLL). */
function agreement(job: Job, ours: Record<string, unknown>, torch: Record<string, unknown>): string {
  if (job.analysis === 'ppl') return `|Δnll| ${Math.abs((ours.nll as number) - (torch.nll as number)).toExponential(1)}`;
  if (job.analysis === 'ig' || job.analysis === 'grad-input') {
    const scores = (ours.tokens as { score: number }[]).map((t) => t.score);
    const values = torch.values as number[];
    const scale = Math.max(...values.map(Math.abs));
    const worst = Math.max(...scores.map((s, i) => Math.abs(s - values[i]!)));
    const deltas = job.analysis === 'ig' ? `; delta ${(ours.delta as number).toExponential(1)} / torch ${(torch.delta as number).toExponential(1)}` : '';
    return `max |Δ|/max ${(worst / scale).toExponential(1)}${deltas}`;
  }
  const scores = [...(ours.layers as { index: number; score: number }[])].sort((a, b) => a.index - b.index).map((l) => l.score);
  const values = torch.values as number[];
  const worst = Math.max(...scores.map((s, l) => Math.abs(s - values[l]!) / (job.analysis === 'ablation' ? values[l]! : 1)));
  return `max ${job.analysis === 'ablation' ? 'rel ' : ''}|Δ| ${worst.toExponential(1)}`;
}

/** BENCH_JOBS / --jobs: `bi,ppl,ablation,ig,grad-input` or `bi:256,ppl:2048` (analysis, optionally its token count); absent: all. */
function selected(job: Job, jobs: string[] | undefined): boolean {
  return !jobs || jobs.some((j) => { const [a, t] = j.split(':'); return a === job.analysis && (t === undefined || Number(t) === job.tokens); });
}

export async function realShapesBench(names: string[], jobs?: string[]): Promise<string[]> {
  const unknown = names.filter((n) => !SHAPES[n]);
  if (unknown.length > 0) throw new Error(`unknown real shape(s) ${unknown.join(', ')}; known: ${Object.keys(SHAPES).join(', ')}`);
  const lines: string[] = [];
  const rows: string[][] = [];
  let text: { file: string; idsFile: string } | undefined;
  for (const name of names) {
    const dir = join(MODELS, name);
    const twin = weightTwin(name);
    const start = performance.now();
    const { reused, bytes } = writeModelFolder(dir, SHAPES[name]!(), { ...(twin ? { weightsFrom: join(MODELS, twin) } : {}), log: (l) => process.stderr.write(`bench: ${l}\n`) });
    lines.push(`${name}: ${dir}, ${(bytes / 1e9).toFixed(2)} GB of BF16 weights, ${reused ? 'reused' : `written in ${((performance.now() - start) / 1000).toFixed(1)} s`}`);
    text ??= await benchText(dir, 2048);
    // Warm the page cache for both sides alike, where the weights fit comfortably in memory.
    if (bytes < 8e9) spawnSync('sh', ['-c', `cat '${dir}'/*.safetensors > /dev/null`]);
    for (const job of (JOBS[name] ?? JOBS['qwen0.5b']!).concat(jobs?.includes('cancel') && name !== 'llama7b' ? [{ analysis: 'cancel', tokens: 256 }] : []).filter((j) => selected(j, jobs))) {
      if (job.analysis === 'cancel') {
        process.stderr.write(`bench: ${name} cancel inside a block\n`);
        lines.push(`${name} cancel of Block Influence (${job.tokens} tokens) half a block after the first block's step: ${await cancelLatency(dir, text.file, job.tokens)}`);
        continue;
      }
      process.stderr.write(`bench: ${name} ${job.analysis} ${job.tokens} tokens: ours\n`);
      const gradient = job.analysis === 'ig' || job.analysis === 'grad-input';
      const input = gradient ? await exactText(dir, job.tokens) : text;
      const ours = timed(process.execPath, cliArgs(dir, job, input.file));
      process.stderr.write(`bench: ${name} ${job.analysis} ${job.tokens} tokens: torch\n`);
      const torch = timed(PYTHON, [TORCH, dir, input.idsFile, '--analysis', job.analysis, '--tokens', String(job.tokens), ...(job.analysis === 'ig' ? ['--steps', String(IG_STEPS)] : [])]);
      const oursJson = ours.code === 0 ? (JSON.parse(ours.stdout) as Record<string, unknown>) : undefined;
      const torchJson = torch.code === 0 ? (JSON.parse(torch.stdout) as Record<string, unknown>) : undefined;
      // Tokens pushed through the model: ablation runs one pass per block.
      const passes = job.analysis === 'ablation' ? (SHAPES[name]!().config.num_hidden_layers as number) : job.analysis === 'ig' ? IG_STEPS : 1;
      const rate = (r: Run) => `${((job.tokens * passes) / r.seconds).toFixed(0)} tok/s`;
      const side = (r: Run, ok: boolean) => (ok ? `${r.seconds.toFixed(1)} s (CPU ${r.cpuSeconds.toFixed(1)} s) / ${r.peakMb.toFixed(0)} MB` : `no result, exit ${r.code} (${r.seconds.toFixed(1)} s, ${r.peakMb.toFixed(0)} MB)`);
      rows.push([
        name, LABEL[job.analysis], String(job.tokens),
        side(ours, !!oursJson), side(torch, !!torchJson),
        oursJson && torchJson ? `${(torch.seconds / ours.seconds).toFixed(2)}×` : '–',
        oursJson && torchJson ? `${(ours.peakMb / torch.peakMb).toFixed(2)}` : '–',
        oursJson ? rate(ours) : '–', torchJson ? rate(torch) : '–',
        oursJson && torchJson ? agreement(job, oursJson, torchJson) : '–',
        `${oursJson ? String(oursJson.device) : '–'} / cpu ×${cpus().length} threads`,
      ]);
      // Each row as it is measured, so a run stopped half-way still leaves its figures.
      process.stderr.write(`bench: | ${rows.at(-1)!.join(' | ')} |\n`);
      if (!oursJson) lines.push(`${name} ${job.analysis}, ours (exit ${ours.code}): ${ours.stderr.trim().split('\n').pop()}`);
      if (!torchJson) lines.push(`${name} ${job.analysis}, torch (exit ${torch.code}): ${torch.code === 3 ? (JSON.parse(torch.stdout) as { refused: string }).refused : torch.stderr.trim().split('\n').pop()}`);
      else lines.push(`${name} ${job.analysis}, torch: load ${(torchJson.loadSeconds as number).toFixed(1)} s + compute ${(torchJson.seconds as number).toFixed(1)} s`);
    }
  }
  const header = ['shape', 'analysis', 'tokens', 'ours wall (CPU) / peak RSS', 'torch f32 wall (CPU) / peak RSS', 'speed vs torch (goal ≥ 1)', 'RSS ours/torch (goal ≤ 0.33)', 'ours tokens/s', 'torch tokens/s', 'agreement', 'device ours / torch'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line), '', ...lines];
}

/** A 21-token sentence for the saliency methods (each token is masked in turn: a text of 256 would be 256 passes). */
const SALIENCY_TEXT = 'In the beginning was the Word, and the Word was with God, and the Word was God.';

/** `--every` / BENCH_EVERY=1: every text analysis of the CLI on each shape, ours only (torch has no counterpart
 * here), 256 tokens where a text is cut: wall, CPU and peak RSS per command. The plan written by `plan --drop-layers`
 * is then verified without writing a checkpoint (`apply PLAN --verify`). */
export async function everyAnalysisBench(names: string[]): Promise<string[]> {
  const rows: string[][] = [];
  for (const name of names) {
    const dir = join(MODELS, name);
    writeModelFolder(dir, SHAPES[name]!(), { log: (l) => process.stderr.write(`bench: ${l}\n`) });
    const { file } = await benchText(dir, 2048);
    const plan = join(OUT, `${name}.pruneplan.json`);
    const text = (tokens: number) => ['--text-file', file, '--max-tokens', String(tokens)];
    const commands: [string, string[]][] = [
      ['layers --metric angular', ['layers', dir, '--metric', 'angular', ...text(256)]],
      ['layers --metric ablation (one sweep, every block)', ['layers', dir, '--metric', 'ablation', ...text(256)]],
      ['layers --metric wanda', ['layers', dir, '--metric', 'wanda', ...text(256)]],
      ['saliency --method occlusion (21 tokens)', ['saliency', dir, '--method', 'occlusion', '--text', SALIENCY_TEXT]],
      ['saliency --method reagent --seeds 2 (21 tokens)', ['saliency', dir, '--method', 'reagent', '--seeds', '2', '--text', SALIENCY_TEXT]],
      ['saliency --method attention (21 tokens)', ['saliency', dir, '--method', 'attention', '--text', SALIENCY_TEXT]],
      ['plan --drop-layers 4 --metric block-influence', ['plan', dir, '--drop-layers', '4', '--metric', 'block-influence', ...text(256), '--out', plan]],
      ['plan --sparsity 0.5 --metric wanda (128 tokens)', ['plan', dir, '--sparsity', '0.5', '--metric', 'wanda', ...text(128)]],
      ['apply PLAN --verify (drop 4 blocks, nothing written)', ['apply', plan, '--verify', ...text(256)]],
    ];
    for (const [label, args] of commands) {
      process.stderr.write(`bench: ${name} ${label}\n`);
      const run = timed(process.execPath, [CLI, ...args, '--json']);
      const ok = run.code === 0;
      rows.push([name, `\`${label}\``, ok ? `${run.seconds.toFixed(1)} s` : `exit ${run.code}: ${run.stderr.trim().split('\n').pop()}`, `${run.cpuSeconds.toFixed(1)} s`, `${(run.peakMb / 1024).toFixed(2)} GB`]);
    }
  }
  const header = ['shape', 'command (ours)', 'wall', 'CPU', 'peak RSS'];
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

interface SaliencyJob { analysis: 'wanda' | 'occlusion' | 'attention' | 'reagent'; tokens: number; seeds?: number; maxSteps?: number }
/**
 * Token counts sized to this 2-core machine: occlusion is a pass of (tokens − 1) rows, ReAGent seeds × masks rows, so
 * their texts are shorter (or bounded by --max-steps) where a 256-token text would take an hour on a busy machine.
 */
const SALIENCY_JOBS: SaliencyJob[] = [
  { analysis: 'wanda', tokens: 256 },
  { analysis: 'attention', tokens: 256 },
  { analysis: 'occlusion', tokens: 64 },
  { analysis: 'reagent', tokens: 64, seeds: 2, maxSteps: 2 },
  { analysis: 'reagent', tokens: 256, seeds: 2, maxSteps: 1 },
];

/** The masks the CLI's ReAGent draws for this text (same plan, same seeds), for the torch side to score the same texts. */
async function reagentMasksFile(dir: string, input: { file: string; idsFile: string }, job: SaliencyJob): Promise<string> {
  const tokenizer = await TextTokenizer.load(dir);
  const ids = JSON.parse(readFileSync(input.idsFile, 'utf8')) as number[];
  const context = ids.slice(0, -1);
  const spans = await tokenizer.encode(readFileSync(input.file, 'utf8'));
  const special = new Set(spans.filter((s) => s.special).map((s) => s.id));
  const plan = reagentPlan(context.length, job.seeds!, job.maxSteps);
  const vocab = (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { vocab_size: number }).vocab_size;
  const seeds = Array.from({ length: job.seeds! }, (_, seed) => replacementMasks(context, seed, plan.masks, vocab, special));
  const file = join(OUT, `reagent-masks-${job.tokens}.json`);
  writeFileSync(file, JSON.stringify({ seeds }));
  return file;
}

/** Wanda, attention rollout, occlusion and ReAGent from the CLI against bench/torch_real.py doing the same work. */
export async function saliencyVsTorch(names: string[], jobs?: string[]): Promise<string[]> {
  const rows: string[][] = [];
  const lines: string[] = [];
  const chosen = SALIENCY_JOBS.filter((j) => (jobs ? jobs.some((s) => { const [a, t] = s.split(':'); return a === j.analysis && (t === undefined || Number(t) === j.tokens); }) : true));
  for (const name of jobs ? names : names.filter((n) => n === 'qwen0.5b')) {
    const dir = join(MODELS, name);
    writeModelFolder(dir, SHAPES[name]!(), { log: (l) => process.stderr.write(`bench: ${l}\n`) });
    const text = await benchText(dir, 2048);
    for (const job of chosen) {
      const input = job.analysis === 'wanda' ? text : await exactText(dir, job.tokens);
      const label = job.analysis === 'reagent' ? `reagent, ${job.seeds} seeds, --max-steps ${job.maxSteps}` : job.analysis;
      const ours = job.analysis === 'wanda'
        ? ['layers', dir, '--metric', 'wanda', '--text-file', input.file, '--max-tokens', String(job.tokens)]
        : ['saliency', dir, '--method', job.analysis, '--text-file', input.file, ...(job.seeds ? ['--seeds', String(job.seeds), '--max-steps', String(job.maxSteps)] : [])];
      process.stderr.write(`bench: ${name} ${label} ${job.tokens} tokens: ours\n`);
      const us = timed(process.execPath, [CLI, ...ours, '--json']);
      const extra = job.analysis === 'reagent' ? ['--masks-json', await reagentMasksFile(dir, input, job)] : [];
      process.stderr.write(`bench: ${name} ${label} ${job.tokens} tokens: torch\n`);
      const torch = timed(PYTHON, [TORCH, dir, input.idsFile, '--analysis', job.analysis, '--tokens', String(job.tokens), ...extra]);
      const oursJson = us.code === 0 ? (JSON.parse(us.stdout) as Record<string, unknown>) : undefined;
      const torchJson = torch.code === 0 ? (JSON.parse(torch.stdout) as Record<string, unknown>) : undefined;
      const scores = oursJson ? (job.analysis === 'wanda'
        ? [...(oursJson.layers as { index: number; score: number }[])].sort((a, b) => a.index - b.index).map((l) => l.score)
        : (oursJson.tokens as { score: number }[]).map((t) => t.score)) : [];
      const agreement = () => {
        const values = torchJson!.values as number[];
        const scale = Math.max(...values.map(Math.abs));
        return `max |Δ|/max ${(Math.max(...scores.map((x, i) => Math.abs(x - values[i]!))) / scale).toExponential(1)}`;
      };
      const side = (r: Run, ok: boolean) => (ok ? `${r.seconds.toFixed(1)} s (CPU ${r.cpuSeconds.toFixed(1)} s) / ${r.peakMb.toFixed(0)} MB` : `no result, exit ${r.code} (${r.seconds.toFixed(1)} s, ${r.peakMb.toFixed(0)} MB)`);
      const forwardRows = job.analysis === 'occlusion' ? job.tokens - 1 : job.analysis === 'reagent' ? (oursJson?.masks as number ?? 0) * job.seeds! : 1;
      rows.push([
        name, label, String(job.tokens), String(forwardRows), side(us, !!oursJson), side(torch, !!torchJson),
        oursJson && torchJson ? `${(torch.seconds / us.seconds).toFixed(2)}×` : '–',
        oursJson && torchJson ? `${(us.peakMb / torch.peakMb).toFixed(2)}` : '–',
        oursJson && torchJson ? agreement() : '–',
      ]);
      process.stderr.write(`bench: | ${rows.at(-1)!.join(' | ')} |\n`);
      if (!oursJson) lines.push(`${name} ${label}, ours (exit ${us.code}): ${us.stderr.trim().split('\n').pop()}`);
      if (!torchJson) lines.push(`${name} ${label}, torch (exit ${torch.code}): ${torch.stderr.trim().split('\n').pop() ?? torch.stdout}`);
      else lines.push(`${name} ${label}, torch: load ${(torchJson.loadSeconds as number).toFixed(1)} s + compute ${(torchJson.seconds as number).toFixed(1)} s`);
    }
  }
  const header = ['shape', 'analysis', 'tokens', 'forward rows', 'ours wall (CPU) / peak RSS', 'torch f32 wall (CPU) / peak RSS', 'speed vs torch', 'RSS ours/torch', 'agreement'];
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`), '', ...lines];
}

/** The shapes asked for: `--real a,b` on the command line, else BENCH_REAL; `all` = the three of issue #13. */
export function requestedShapes(argv: string[] = process.argv): string[] {
  return listArg(argv, 'real', process.env.BENCH_REAL, ['qwen0.5b', 'llama1b', 'llama7b']);
}

/** The jobs asked for: `--jobs bi,ablation` (or `bi:256`) on the command line, else BENCH_JOBS; undefined = every job. */
export function requestedJobs(argv: string[] = process.argv): string[] | undefined {
  const jobs = listArg(argv, 'jobs', process.env.BENCH_JOBS, []);
  return jobs.length > 0 ? jobs : undefined;
}

/** `--NAME a,b`, `--NAME=a,b`, else the environment's value; `all` = allValues. */
function listArg(argv: string[], name: string, env: string | undefined, allValues: string[]): string[] {
  const at = argv.indexOf(`--${name}`);
  const value = at >= 0 ? argv[at + 1] : argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? env;
  if (!value) return [];
  return value === 'all' && allValues.length > 0 ? allValues : value.split(',').map((s) => s.trim()).filter(Boolean);
}

if (require.main === module) {
  const names = requestedShapes();
  if (names.length === 0) {
    console.error(`usage: node out/bench/realShapes.bench.js --real SHAPE[,SHAPE...] [--jobs bi,ppl,ablation,ig,grad-input,wanda,occlusion,attention,reagent | --every]   (${Object.keys(SHAPES).join(', ')}, or all)`);
    process.exit(2);
  }
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: npm run build first`);
  const every = process.argv.includes('--every') || !!process.env.BENCH_EVERY;
  const jobs = requestedJobs();
  const saliencyJobs = jobs?.filter((j) => SALIENCY_JOBS.some((s) => s.analysis === j.split(':')[0]));
  const run = async () => {
    if (every) return everyAnalysisBench(names);
    // Only the saliency jobs asked for: the forward jobs are not run (and vice versa); none named: both.
    const forward = !jobs || saliencyJobs!.length < jobs.length ? await realShapesBench(names, jobs?.filter((j) => !saliencyJobs!.includes(j))) : [];
    const saliency = !jobs || saliencyJobs!.length > 0 ? await saliencyVsTorch(names, saliencyJobs) : [];
    return [...forward, ...(saliency.length > 0 ? ['', ...saliency] : [])];
  };
  void run().then((lines) => lines.forEach((l) => console.log(l)));
}
