// npm run bench (entry; forward passes in forward.bench.ts, CSV in csv.bench.ts, webview paint in paint.bench.ts, the
// outlier count in the moments pass against a second pass in outlierPass.bench.ts, and
// with `-- --real SHAPES` or BENCH_REAL the real-shape models of realShapes.bench.ts, with `-- --stats-8b` or
// BENCH_STATS_8B=1 the 16 GB sharded checkpoint of stats8b.bench.ts): throughput of `stats` on ≥ 1 GB safetensors files (f32 and bf16) against a numpy script doing the
// same statistics and against reading the file (cat), peak RSS, and opening a 100 000-tensor file. Every target is
// a ratio against a baseline measured in this same run; nothing here is asserted in `npm test`.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { drain } from '../src/analyses';
import { inspect } from '../src/analyses/inspect';
import { chunkMoments } from '../src/compute/moments';
import { MomentsKernel } from '../src/compute/momentsKernel';
import { simdTensorMoments } from '../src/compute/momentsPass';
import { SimdMoments } from '../src/compute/simdMoments';
import { CHUNK_ELEMENTS, FileHandles } from '../src/compute/tensorStream';
import { decodeInto } from '../src/compute/decode';
import { openCheckpoint } from '../src/formats/open';
import { safetensorsHeader } from '../test/fixtures/safetensorsWriter';
import { csvBench } from './csv.bench';
import { forwardBench } from './forward.bench';
import { outlierPassBench } from './outlierPass.bench';
import { paintBench } from './paint.bench';
import { stats8bBench, wants8b } from './stats8b.bench';
import { best, timed } from './timing';
import { realShapesBench, requestedJobs, requestedShapes } from './realShapes.bench';
import { ROOT } from '../test/unit/helpers';

const CLI = join(ROOT, 'dist', 'cli.js');
const DIR = process.env.BENCH_DIR ?? join(tmpdir(), 'importance-lens-bench');
const SIDE = 4096;

function writeCheckpoint(path: string, dtype: 'F32' | 'BF16', tensors: number): void {
  if (existsSync(path)) return;
  const elementBytes = dtype === 'F32' ? 4 : 2;
  const bytes = SIDE * SIDE * elementBytes;
  const header: Record<string, unknown> = {};
  for (let i = 0; i < tensors; i++) header[`model.layers.${i}.mlp.up_proj.weight`] = { dtype, shape: [SIDE, SIDE], data_offsets: [i * bytes, (i + 1) * bytes] };
  const fd = openSync(`${path}.partial`, 'w');
  writeSync(fd, safetensorsHeader(header));
  const values = new Float32Array(SIDE * SIDE);
  let state = 12345;
  for (let i = 0; i < tensors; i++) {
    // Roughly normal (sum of 4 uniforms), std 0.02, with a few planted outliers: weights-like, cheap to make.
    for (let j = 0; j < values.length; j++) {
      let sum = 0;
      for (let k = 0; k < 4; k++) {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        sum += state / 4294967296;
      }
      values[j] = (sum - 2) * 0.0346;
    }
    values[i * 7919] = 0.5;
    if (dtype === 'F32') writeSync(fd, new Uint8Array(values.buffer));
    else {
      const words = new Uint32Array(values.buffer);
      const half = new Uint16Array(values.length);
      for (let j = 0; j < half.length; j++) half[j] = words[j]! >>> 16;
      writeSync(fd, new Uint8Array(half.buffer));
    }
  }
  closeSync(fd);
  execFileSync('mv', [`${path}.partial`, path]);
}

async function main(): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  const rows: string[][] = [];
  const passRows: string[] = [];
  for (const [dtype, tensors] of [['F32', 16], ['BF16', 32]] as const) {
    const file = join(DIR, `bench-${dtype.toLowerCase()}.safetensors`);
    process.stderr.write(`bench: preparing ${file}\n`);
    writeCheckpoint(file, dtype, tensors);
    const gb = (SIDE * SIDE * tensors * (dtype === 'F32' ? 4 : 2)) / 1e9;
    timed('cat', [file]); // warm the page cache (stdout discarded)
    const cat = best(3, () => timed('sh', ['-c', `cat '${file}' > /dev/null`]));
    // Ours (with each thread count of BENCH_THREADS, default 1 and 2) and numpy back to back, with and without
    // stable rank, best of BENCH_RUNS (2) each.
    const runs = Number(process.env.BENCH_RUNS ?? 2);
    const threadCounts = (process.env.BENCH_THREADS ?? '1,2').split(',').map(Number);
    const momentsRates: string[] = [];
    for (const rank of [true, false]) {
      const flag = rank ? [] : ['--no-stable-rank'];
      const numpy = best(runs, () => timed('/usr/bin/python3', [join(ROOT, 'bench', 'numpy_stats.py'), file, ...flag]));
      // With stable rank also the usual quick script (≤ 20 power steps, no bound, 2.4 % low on these matrices):
      // a second figure, not the goal's baseline (the goal asks for the same accuracy).
      const quick = rank ? best(runs, () => timed('/usr/bin/python3', [join(ROOT, 'bench', 'numpy_stats.py'), file, '--20-steps'])) : undefined;
      for (const threads of threadCounts) {
        const ours = best(runs, () => timed(process.execPath, [CLI, 'stats', file, '--json', '--threads', String(threads), ...flag]));
        rows.push([
          `${dtype} ${gb.toFixed(2)} GB${rank ? '' : ', no stable rank'}, ${threads} thread${threads > 1 ? 's' : ''}`, `${ours.seconds.toFixed(2)} s`, `${(gb / ours.seconds).toFixed(2)} GB/s`,
          `${numpy.seconds.toFixed(2)} s`, `${(numpy.seconds / ours.seconds).toFixed(2)}×`,
          `${cat.seconds.toFixed(2)} s`, `${(cat.seconds / ours.seconds).toFixed(2)}×`, `${ours.peakMb.toFixed(0)} MB`, `${numpy.peakMb.toFixed(0)} MB`,
          quick ? `${quick.seconds.toFixed(2)} s, ${(quick.seconds / ours.seconds).toFixed(2)}×` : '–',
        ]);
        if (!rank) momentsRates.push(`${threads} thread${threads > 1 ? 's' : ''} ${(gb / ours.seconds).toFixed(2)} GB/s`);
      }
    }
    passRows.push(`${await momentsPassThroughput(file, gb)}; whole \`stats --no-stable-rank\` (process start, outliers included): ${momentsRates.join(', ')}`);
  }

  const many = join(DIR, 'bench-100k-tensors.safetensors');
  const count = 100_000;
  if (!existsSync(many)) {
    const header: Record<string, unknown> = {};
    for (let i = 0; i < count; i++) header[`model.layers.${i % 1000}.experts.${Math.floor(i / 1000)}.w${i % 3}.weight`] = { dtype: 'F16', shape: [2, 2], data_offsets: [i * 8, i * 8 + 8] };
    const json = JSON.stringify(header);
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    const fd = openSync(many, 'w');
    writeSync(fd, Buffer.concat([length, Buffer.from(json), Buffer.alloc(count * 8)]));
    closeSync(fd);
  }
  await drain(inspect({ path: many })); // warm up the JIT and the page cache
  const openRuns: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    await drain(inspect({ path: many }));
    openRuns.push(performance.now() - start);
  }
  const parseRuns: number[] = [];
  const text = (await import('node:fs')).readFileSync(many).subarray(8).toString('utf8');
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    JSON.parse(text.slice(0, text.lastIndexOf('}') + 1));
    parseRuns.push(performance.now() - start);
  }
  const open = Math.min(...openRuns);
  const parse = Math.min(...parseRuns);

  const kernels = await kernelComparison();
  printStats(rows, passRows, open, parse, kernels);
  console.log('');
  for (const line of await outlierPassBench()) console.log(line);
  if (wants8b()) {
    console.log('');
    for (const line of await stats8bBench()) console.log(line);
  }
  if (process.env.BENCH_ONLY === 'stats') return;
  console.log('');
  for (const line of await forwardBench(process.env.IMPORTANCE_LENS_PROVIDERS?.split(',') ?? ['cpu'])) console.log(line);
  console.log('');
  for (const line of await csvBench()) console.log(line);
  console.log('');
  for (const line of await paintBench()) console.log(line);
  const real = requestedShapes();
  if (real.length > 0) {
    console.log('');
    for (const line of await realShapesBench(real, requestedJobs())) console.log(line);
  }
  if (process.env.BENCH_CLEAN) rmSync(DIR, { recursive: true, force: true });
}

void main();

function printStats(rows: string[][], passRows: string[], open: number, parse: number, kernels: KernelTimes): void {
  const load = loadavg()[0]!.toFixed(1);
  const header = ['file', 'stats', 'throughput', 'numpy (same 1 % bound)', 'vs numpy (goal ≥ 1; ≥ 2 with stable rank)', 'cat', 'vs cat (goal ≥ 0.5)', 'peak RSS (goal < 400 MB)', 'numpy RSS', 'numpy ≤ 20 steps, no bound'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`load average at the end: ${load} on ${cpus().length} cores`);
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
  for (const row of passRows) console.log(row);
  console.log(`\nopen 100 000-tensor safetensors (header + summary): ${open.toFixed(0)} ms (goal < 150 ms); JSON.parse of its header alone: ${parse.toFixed(0)} ms; ratio ${(open / parse).toFixed(2)}×`);
  const gbs = (bytes: number, ms: number) => `${(bytes / ms / 1e6).toFixed(2)} GB/s`;
  const f32 = CHUNK_ELEMENTS * 4;
  const bf16 = CHUNK_ELEMENTS * 2;
  console.log(`\nmoments of one ${CHUNK_ELEMENTS}-element chunk (best of 20): memcpy of the F32 bytes ${kernels.copy.toFixed(2)} ms (${gbs(f32, kernels.copy)});`);
  console.log(`  F32: typed-array loop ${kernels.loop.toFixed(2)} ms (${gbs(f32, kernels.loop)}), ONNX graph (cpu) ${kernels.graph.toFixed(2)} ms (${gbs(f32, kernels.graph)}), WebAssembly SIMD ${kernels.simdF32.toFixed(2)} ms (${gbs(f32, kernels.simdF32)})`);
  console.log(`  BF16: decode + loop ${kernels.loopBf16.toFixed(2)} ms (${gbs(bf16, kernels.loopBf16)}), decode + ONNX graph ${kernels.graphBf16.toFixed(2)} ms (${gbs(bf16, kernels.graphBf16)}), WebAssembly SIMD ${kernels.simdBf16.toFixed(2)} ms (${gbs(bf16, kernels.simdBf16)})`);
}

/**
 * The moments pass alone over the whole file, in this process (page cache warm), best of 3, next to a memcpy of
 * the same bytes in the same 4 MiB pieces (the buffers stay in cache: the figure to hold against the memory bus)
 * and in 256 MiB pieces (out of cache, as the read's copy out of the page cache is).
 */
async function momentsPassThroughput(file: string, gb: number): Promise<string> {
  const header = (await openCheckpoint(file)).header!;
  const kernel = new SimdMoments();
  const handles = new FileHandles();
  let pass = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    for (const tensor of header.tensors) await simdTensorMoments(tensor, handles, kernel);
    pass = Math.min(pass, performance.now() - start);
  }
  await handles.close();
  const from = Buffer.alloc(4 << 20, 1);
  const to = Buffer.alloc(4 << 20);
  const pieces = Math.ceil((gb * 1e9) / from.length);
  let copy = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    for (let p = 0; p < pieces; p++) from.copy(to);
    copy = Math.min(copy, performance.now() - start);
  }
  // The same copy from buffers far larger than the L2 (a copy out of the page cache, the read's own work, is one).
  const bigFrom = Buffer.alloc(256 << 20, 1);
  const bigTo = Buffer.alloc(256 << 20);
  let bigCopy = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    for (let done = 0; done < gb * 1e9; done += bigFrom.length) bigFrom.copy(bigTo);
    bigCopy = Math.min(bigCopy, performance.now() - start);
  }
  const rate = (ms: number) => (gb / (ms / 1000)).toFixed(2);
  return `${basename(file)}: moments pass (read into the kernel + SIMD, 1 thread) ${(pass / 1000).toFixed(2)} s = ${rate(pass)} GB/s; memcpy of the same bytes ${rate(copy)} GB/s; ratio ${(copy / pass).toFixed(2)} (goal ≥ 0.33); ` +
    `memcpy out of cache (256 MiB buffers) ${rate(bigCopy)} GB/s, ratio ${(bigCopy / pass).toFixed(2)}`;
}

interface KernelTimes { copy: number; loop: number; graph: number; simdF32: number; loopBf16: number; graphBf16: number; simdBf16: number }

/** The same chunk reduced by every kernel, best of 20 runs each after a warm-up. */
async function kernelComparison(): Promise<KernelTimes> {
  const values = new Float32Array(CHUNK_ELEMENTS).map((_, i) => Math.sin(i * 12.9898) * 0.02);
  const words = new Uint32Array(values.buffer);
  const halves = Buffer.from(Uint16Array.from(words, (w) => w >>> 16).buffer);
  const decoded = new Float32Array(CHUNK_ELEMENTS);
  const copyTo = new Float32Array(CHUNK_ELEMENTS);
  const simd = new SimdMoments();
  const regionF32 = simd.region(0);
  const regionBf16 = simd.region(1);
  Buffer.from(values.buffer).copy(regionF32);
  halves.copy(regionBf16);
  const kernel = await MomentsKernel.create('cpu');
  const bestOf = async (run: () => unknown): Promise<number> => {
    await run();
    let best = Infinity;
    for (let i = 0; i < 20; i++) {
      const start = performance.now();
      await run();
      best = Math.min(best, performance.now() - start);
    }
    return best;
  };
  const copy = await bestOf(() => copyTo.set(values));
  const loop = await bestOf(() => chunkMoments(values, values.length));
  const graph = await bestOf(() => kernel.moments(values, values.length));
  const simdF32 = await bestOf(() => simd.moments('F32', regionF32.byteOffset, CHUNK_ELEMENTS, 0));
  const loopBf16 = await bestOf(() => (decodeInto('BF16', halves, CHUNK_ELEMENTS, decoded), chunkMoments(decoded, CHUNK_ELEMENTS)));
  const graphBf16 = await bestOf(() => (decodeInto('BF16', halves, CHUNK_ELEMENTS, decoded), kernel.moments(decoded, CHUNK_ELEMENTS)));
  const simdBf16 = await bestOf(() => simd.moments('BF16', regionBf16.byteOffset, CHUNK_ELEMENTS, 0));
  await kernel.release();
  return { copy, loop, graph, simdF32, loopBf16, graphBf16, simdBf16 };
}
