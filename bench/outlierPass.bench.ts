// npm run bench:outliers (and a part of `npm run bench`): one tensor's statistics without stable rank, in this
// process, page cache warm, the outliers counted in the moments pass (the sampled band, outlierBand.ts) against the
// earlier second pass over the file, and the moments pass alone (what no outlier count at all would cost): on the
// 1 GiB F32 and BF16 files of stats.bench.ts and a heavy-tailed F32 file (Laplace, kurtosis ≈ 6, as weights with
// fat tails are), each tensor's outcome (band decided, or second pass) counted. Best of BENCH_RUNS (3) each, the
// ways taken in turn; the counts of the two ways are checked equal. Nothing here is asserted in `npm test`.
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { finishMoments } from '../src/compute/moments';
import { simdTensorMoments } from '../src/compute/momentsPass';
import { sampleBand } from '../src/compute/outlierBand';
import { SimdMoments } from '../src/compute/simdMoments';
import { OUTLIER_SIGMAS, simdTensorStats, type OutlierCounting } from '../src/compute/simdTensorStats';
import type { SimdKernels } from '../src/compute/statsKernels';
import { FileHandles } from '../src/compute/tensorStream';
import { openCheckpoint } from '../src/formats/open';
import { safetensorsHeader } from '../test/fixtures/safetensorsWriter';

const DIR = process.env.BENCH_DIR ?? join(tmpdir(), 'importance-lens-bench');

/** 16 F32 tensors of 4096 × 1024 (256 MiB), Laplace with scale 0.014 (σ ≈ 0.02), deterministic. */
function writeHeavyTailed(path: string): void {
  if (existsSync(path)) return;
  const [rows, cols, tensors] = [4096, 1024, 16];
  const bytes = rows * cols * 4;
  const header: Record<string, unknown> = {};
  for (let i = 0; i < tensors; i++) header[`model.layers.${i}.mlp.down_proj.weight`] = { dtype: 'F32', shape: [rows, cols], data_offsets: [i * bytes, (i + 1) * bytes] };
  // Written beside and renamed when complete: an interrupted run leaves no truncated file for the next to reuse.
  const fd = openSync(`${path}.partial`, 'w');
  writeSync(fd, safetensorsHeader(header));
  const values = new Float32Array(rows * cols);
  let state = 777;
  for (let t = 0; t < tensors; t++) {
    for (let j = 0; j < values.length; j++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      const u = (state + 0.5) / 4294967296 - 0.5;
      values[j] = -0.014 * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
    }
    writeSync(fd, new Uint8Array(values.buffer));
  }
  closeSync(fd);
  renameSync(`${path}.partial`, path);
}

export async function outlierPassBench(): Promise<string[]> {
  mkdirSync(DIR, { recursive: true });
  const heavy = join(DIR, 'bench-f32-laplace.safetensors');
  writeHeavyTailed(heavy);
  const files = ['bench-f32.safetensors', 'bench-bf16.safetensors'].map((f) => join(DIR, f)).filter(existsSync);
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const kernel = new SimdMoments();
  const kernels: SimdKernels = { simd: kernel, matrixBuffer: () => { throw new Error('no matrix'); }, stableRank: () => null };
  const lines = [`outliers in the moments pass (one tensor after another, 1 thread, in process, best of ${runs}), load ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores:`];
  for (const file of [...files, heavy]) {
    const tensors = (await openCheckpoint(file)).header!.tensors;
    const gb = tensors.reduce((sum, t) => sum + t.byteLength, 0) / 1e9;
    const best: Record<OutlierCounting | 'moments only', number> = { 'moments only': Infinity, 'two-pass': Infinity, 'one-pass': Infinity };
    const counts: Record<string, string> = {};
    for (let r = 0; r < runs; r++) {
      for (const way of ['moments only', 'two-pass', 'one-pass'] as const) {
        const handles = new FileHandles();
        const start = performance.now();
        const out: (number | null)[] = [];
        for (const t of tensors) {
          if (way === 'moments only') await simdTensorMoments(t, handles, kernel);
          else out.push((await simdTensorStats(t, null, kernels, handles, undefined, undefined, way)).outliers);
        }
        best[way] = Math.min(best[way], performance.now() - start);
        await handles.close();
        if (way !== 'moments only') counts[way] = JSON.stringify(out);
      }
    }
    if (counts['one-pass'] !== counts['two-pass']) throw new Error(`${file}: the one-pass outliers differ from the two-pass ones`);
    // Each tensor's outcome, and the elements its band kept.
    let decided = 0;
    let kept = 0;
    const handles = new FileHandles();
    for (const t of tensors) {
      const band = await sampleBand(t, handles, OUTLIER_SIGMAS);
      if (!band) continue;
      const m = finishMoments(await simdTensorMoments(t, handles, kernel, undefined, undefined, undefined, { band }));
      if (band.exactCount(m.mean, OUTLIER_SIGMAS * m.std) !== undefined) decided++;
      kept += band.keptCount;
    }
    await handles.close();
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s (${(gb / (ms / 1000)).toFixed(2)} GB/s)`;
    lines.push(`  ${file.split('/').pop()} (${gb.toFixed(2)} GB, ${tensors.length} tensors): moments only ${s(best['moments only'])}; ` +
      `moments + second outlier pass ${s(best['two-pass'])}; one pass ${s(best['one-pass'])}, ${(best['two-pass'] / best['one-pass']).toFixed(2)}× the two passes; ` +
      `band decided ${decided}/${tensors.length} tensors, ${kept} elements kept in all; outlier counts identical`);
  }
  return lines;
}

if (require.main === module) void outlierPassBench().then((lines) => console.log(lines.join('\n')));
