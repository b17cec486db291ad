// `npm run bench -- --stats-8b` (or BENCH_STATS_8B=1; alone: `node out/bench/stats8b.bench.js` after the builds):
// issue #16's sharded checkpoint. A Llama-3.1-8B-shaped folder (32 blocks, hidden 4096, intermediate 14336, vocab
// 128 256, 8 KV heads; real tensor names, 4 shards of ≤ 5 GB and model.safetensors.index.json; random BF16 values,
// test/fixtures/realShapes.ts) of 16 GB is written under BENCH_DIR (default $TMPDIR/importance-lens-bench), then:
// - `node dist/cli.js stats DIR --json` with 1 and 2 threads, with and without stable rank: wall time, CPU time, peak
//   RSS (GNU time), against `cat` of the same shards in the same run;
// - one run through the analysis process the extension uses (dist/worker.js), cancelled once its progress names the
//   third shard: how many progress steps arrived, the shards and tensors they named, the longest silence between
//   them, the process's peak RSS when cancelled, and how long the cancel took to reject the job and to end the process.
// The folder is deleted afterwards (16 GB of a shared disk) unless BENCH_KEEP_8B=1. Opt-in: it takes minutes.
import { rmSync, statfsSync, readFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledError } from '../src/errors';
import type { StatsResult } from '../src/protocol/results';
import { AnalysisWorkerClient } from '../src/worker/client';
import { ROOT } from '../test/unit/helpers';
import { SHAPES, isComplete, shardPlan, writeModelFolder } from '../test/fixtures/realShapes';
import { msUntilProcessGone, timed } from './timing';

const CLI = join(ROOT, 'dist', 'cli.js');
const SHAPE = 'llama8b';

/** `--stats-8b` on the command line or BENCH_STATS_8B=1. */
export function wants8b(argv: string[] = process.argv): boolean {
  return argv.includes('--stats-8b') || !!process.env.BENCH_STATS_8B;
}

export async function stats8bBench(dir = join(process.env.BENCH_DIR ?? join(tmpdir(), 'importance-lens-bench'), SHAPE)): Promise<string[]> {
  const shape = SHAPES[SHAPE]!();
  const lines: string[] = [];
  mkdirSync(dir, { recursive: true });
  if (!isComplete(dir, shape)) {
    const free = Number(statfsSync(dir).bavail) * Number(statfsSync(dir).bsize);
    if (free < 17e9) throw new Error(`stats 8B bench: ${dir} has ${(free / 1e9).toFixed(1)} GB free, the checkpoint needs 16.1 GB (set BENCH_DIR elsewhere)`);
    process.stderr.write(`bench: writing the ${SHAPE} checkpoint into ${dir}\n`);
  }
  const start = performance.now();
  const written = writeModelFolder(dir, shape, { log: (l) => process.stderr.write(`bench: ${l}\n`) });
  const shards = shardPlan(shape).map((s) => join(dir, s.file));
  const gb = written.bytes / 1e9;
  lines.push(`stats on a Llama-3.1-8B-shaped checkpoint: ${shards.length} shards, ${gb.toFixed(2)} GB of BF16 (${written.reused ? 'reused' : `written in ${((performance.now() - start) / 1000).toFixed(0)} s`}), ${dir}`);
  try {
    timed('sh', ['-c', `cat ${shards.map((s) => `'${s}'`).join(' ')} > /dev/null`]); // into the page cache, as far as it holds
    const cat = timed('sh', ['-c', `cat ${shards.map((s) => `'${s}'`).join(' ')} > /dev/null`]);
    lines.push(`cat of the shards: ${cat.seconds.toFixed(2)} s (${(gb / cat.seconds).toFixed(2)} GB/s); page cache: ${pageCacheShare(shards)}`);
    lines.push('| run | wall | throughput | CPU | vs cat | peak RSS (goal < 400 MB) | tensors, stable ranks |');
    lines.push('|---|---|---|---|---|---|---|');
    for (const rank of [false, true]) {
      for (const threads of (process.env.BENCH_THREADS ?? '1,2').split(',').map(Number)) {
        process.stderr.write(`bench: ${SHAPE} stats, ${threads} thread(s)${rank ? '' : ', no stable rank'}\n`);
        const run = timed(process.execPath, [CLI, 'stats', dir, '--json', '--threads', String(threads), ...(rank ? [] : ['--no-stable-rank'])], true);
        const result = JSON.parse(run.stdout) as StatsResult;
        const ranks = result.tensors.filter((t) => t.stableRank !== null).length;
        lines.push(`| ${threads} thread${threads > 1 ? 's' : ''}${rank ? '' : ', no stable rank'} | ${run.seconds.toFixed(1)} s | ${(gb / run.seconds).toFixed(2)} GB/s | ${run.cpuSeconds.toFixed(1)} s | ${(cat.seconds / run.seconds).toFixed(2)}× | ${run.peakMb.toFixed(0)} MB | ${result.tensors.length}, ${ranks} |`);
      }
    }
    lines.push(await cancelRun(dir, shards.length));
    lines.push(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(', ')} on ${cpus().length} cores`);
  } finally {
    if (!process.env.BENCH_KEEP_8B) rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}

/** The share of the shards' pages in the page cache (fincore), or why it is unknown. */
function pageCacheShare(files: string[]): string {
  try {
    const run = timed('fincore', ['--bytes', '--noheadings', '--output', 'RES,SIZE', ...files], true);
    let resident = 0;
    let size = 0;
    for (const line of run.stdout.trim().split('\n')) {
      const [res, total] = line.trim().split(/\s+/).map(Number);
      resident += res!;
      size += total!;
    }
    return `${((100 * resident) / size).toFixed(0)} % resident`;
  } catch {
    return 'unknown (no fincore)';
  }
}

/** VmHWM (peak resident set) of a process, MB, from /proc. */
function peakRssMb(pid: number | undefined): number {
  const status = pid === undefined ? '' : readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

/**
 * `stats` (stable rank on, 2 threads) through dist/worker.js, cancelled at the first progress step of the third
 * shard (or the last, for fewer shards).
 */
async function cancelRun(dir: string, shardCount: number): Promise<string> {
  const client = new AnalysisWorkerClient(join(ROOT, 'dist', 'worker.js'));
  const controller = new AbortController();
  const cancelShard = Math.min(3, shardCount);
  const started = Date.now();
  const tensors = new Set<string>();
  const shards = new Set<string>();
  let steps = 0;
  let last = started;
  let longestGap = 0;
  let abortedAt = 0;
  let peak = NaN;
  let pid: number | undefined;
  const job = client.run({ analysis: 'stats', path: dir, threads: 2 }, {
    signal: controller.signal,
    onProgress: (p) => {
      const now = Date.now();
      steps++;
      longestGap = Math.max(longestGap, now - last);
      last = now;
      const tensor = /^Tensor (\d+)\//.exec(p.message)?.[1];
      const shard = /\(shard (\d+)\//.exec(p.message)?.[1];
      if (tensor) tensors.add(tensor);
      if (shard) shards.add(shard);
      pid ??= client.pid;
      if (abortedAt === 0 && Number(shard) === cancelShard) {
        peak = peakRssMb(pid);
        abortedAt = Date.now();
        controller.abort();
      }
    },
  });
  try {
    await job;
    return `cancel: the run finished before its progress named shard ${cancelShard} (${steps} progress steps)`;
  } catch (error) {
    const rejected = Date.now() - abortedAt;
    if (!(error instanceof CancelledError)) return `cancel run failed: ${String(error)}`;
    // The analysis process stops the job and stays for the next one, or is ended when it does not stop in time.
    const gone = await msUntilProcessGone(pid!, abortedAt, 20);
    return `progress through the analysis process (stable rank, 2 threads): ${steps} steps in ${((abortedAt - started) / 1000).toFixed(1)} s naming ${tensors.size} tensors ` +
      `and shards ${[...shards].join(', ')}, longest silence ${(longestGap / 1000).toFixed(2)} s; peak RSS of the process at the cancel ${peak.toFixed(0)} MB; ` +
      `cancel at the first step of shard ${cancelShard}: job rejected after ${rejected} ms, ${Number.isNaN(gone) ? 'the process kept for the next job' : `the process ended after ${gone} ms`}`;
  } finally {
    client.dispose();
  }
}

if (require.main === module) {
  void stats8bBench().then((lines) => {
    for (const line of lines) console.log(line);
  });
}
