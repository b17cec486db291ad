// The outlier count (|x − mean| > 6σ) in the moments pass itself, exactly, instead of a second pass over the tensor
// once the mean and σ are known. A cheap sample spread over the tensor's bytes (sampleBand) estimates the mean m̂
// and the limit 6σ̂ before the pass; the pass (the band kernels of simdMoments.ts) counts the elements far beyond
// the estimated limit and keeps the few near it; afterwards exactCount() either proves that this decides every
// element as the exact two-pass count would, and gives that count, or says it cannot (then the caller makes the
// second pass, as before). A misleading sample costs time, never a wrong count.
//
// Why exactCount() is exact. Let c, L, H be the float32 centre and band edges the kernel used, and
// a(x) = fl32(|x − c|) the kernel's float32 distance (x is a float32 value: F32, BF16 and every decoded dtype reach
// the kernel as float32). JavaScript's Math.fround(x − c) is the same float32 (x − c is rounded to float64 first,
// and double rounding through a format of ≥ 2·24 + 2 bits is innocuous for a subtraction), so the kernel and
// keepIfNear()/sort() sort every element alike: a > H is counted in `sure`, L < a ≤ H kept, a ≤ L (and NaN)
// dropped. The exact rule (stats.ts, simdMoments.ts countOutliers) is |fl64(x − m)| > λ with the exact mean m and
// λ = 6σ. With u = 2⁻²⁴: a ≤ L (finite) gives |x − c| ≤ L / (1 − u); a > H gives |x − c| > H / (1 + u) (also when
// x − c overflows float32 to Inf, as H ≤ the largest float32); and |x − m| differs from |x − c| by at most
// s = |m − c|, |fl64(x − m)| from |x − m| by a factor within 1 ± 2⁻⁵³. So when
//   (L·(1 + ε) + s)·(1 + ε) < λ   no dropped element is an outlier, and when
//   H·(1 − ε) − s > λ·(1 + ε)     every sure one is (ε = 10⁻⁶ ≫ u, covering the float64 rounding of these checks);
// then the exact count is `sure` + the kept elements that pass the exact rule. NaN is never an outlier either way;
// ±Inf is sure (or kept, when H is Inf) and passes the exact rule. Otherwise (or when more elements fell in the band
// than the buffer holds) exactCount() gives undefined.
import { readSync } from 'node:fs';
import type { TensorInfo } from '../formats/types';
import { decodeInto, layoutOf } from './decode';
import type { FileHandles } from './tensorStream';

/** Slack of the proof above: far above float32's 2⁻²⁴, so the checks hold whatever their own float64 rounding. */
const EPS = 1e-6;
/** Band elements kept at most (then the second pass): 1 MiB of float32. */
export const BAND_CAPACITY = 1 << 18;

export class OutlierBand {
  /** Elements with a > high, counted by the kernel and by sort(). */
  sure = 0;
  /** The buffer overflowed: exactCount() gives up. */
  overflowed = false;
  private near = new Float32Array(1024);
  private kept = 0;

  /** centre, low and high are float32 values (the kernel's splats); low < high. */
  constructor(readonly center: number, readonly low: number, readonly high: number, private readonly capacity = BAND_CAPACITY) {
    if (Math.fround(center) !== center || Math.fround(low) !== low || Math.fround(high) !== high || !(low < high)) throw new Error(`outlier band: float32 centre and edges with low < high, got ${center}, ${low}, ${high}`);
  }

  /** Keeps x when low < a(x) ≤ high (the kernel counted a(x) > high itself). */
  keepIfNear(x: number): void {
    const a = Math.abs(Math.fround(x - this.center));
    if (a > this.low && !(a > this.high)) this.keep(x);
  }

  /** The kernel's whole work on one element: sure, kept or dropped. */
  sort(x: number): void {
    const a = Math.abs(Math.fround(x - this.center));
    if (a > this.high) this.sure++;
    else if (a > this.low) this.keep(x);
  }

  /** Elements kept so far (tests, the bench). */
  get keptCount(): number {
    return this.kept;
  }

  private keep(x: number): void {
    if (this.kept === this.near.length) {
      if (this.kept >= this.capacity) {
        this.overflowed = true;
        return;
      }
      const grown = new Float32Array(Math.min(this.capacity, 2 * this.kept));
      grown.set(this.near);
      this.near = grown;
    }
    this.near[this.kept++] = x;
  }

  /** The number of elements with |x − mean| > limit, or undefined when this band cannot decide it (see above). */
  exactCount(mean: number, limit: number): number | undefined {
    if (this.overflowed || !(limit > 0) || !Number.isFinite(limit) || !Number.isFinite(mean)) return undefined;
    const s = Math.abs(mean - this.center);
    if (!((this.low * (1 + EPS) + s) * (1 + EPS) < limit) || !(this.high * (1 - EPS) - s > limit * (1 + EPS))) return undefined;
    let over = this.sure;
    for (let i = 0; i < this.kept; i++) {
      const d = this.near[i]! - mean;
      if (d > limit || d < -limit) over++;
    }
    return over;
  }
}

/** Runs of the sample (at most) and elements per run: 64 Ki elements from 256 places. */
const SAMPLE_RUNS = 256;
const RUN_ELEMENTS = 256;
/** The sample's finite values, one buffer for every tensor of the thread (no 512 KiB of garbage per tensor). */
let sampleValues: Float64Array | undefined;

/**
 * A band around the limit `sigmas`·σ̂ estimated from a sample of the tensor: up to SAMPLE_RUNS runs of
 * RUN_ELEMENTS, evenly spread over its bytes, never more than 1/16 of the tensor; undefined when the tensor is too
 * small for 8 runs or the sample has no spread (a constant or all-NaN sample: the second pass decides).
 * The band's half-width is 1 % of the limit plus 4 standard errors of σ̂, the larger of √((κ − 1)/4n) relative (κ
 * the sample's kurtosis, independent elements) and the one the runs' mean squares give (runs of alike elements):
 * wide enough for the sample's error, narrow enough that few elements fall in it (on heavy-tailed weights a wide
 * band costs: each 128-element block holding a band element is walked in JavaScript).
 */
export async function sampleBand(tensor: TensorInfo, handles: FileHandles, sigmas: number): Promise<OutlierBand | undefined> {
  const layout = layoutOf(tensor.dtype);
  if (!layout || tensor.encoding !== undefined) return undefined;
  const unitsPerRun = Math.max(1, Math.ceil(RUN_ELEMENTS / layout.elements));
  const runElements = unitsPerRun * layout.elements;
  const units = Math.floor(tensor.count / layout.elements);
  const runs = Math.min(SAMPLE_RUNS, Math.floor(tensor.count / (16 * runElements)));
  if (runs < 8 || (units * layout.bytes) > tensor.byteLength) return undefined;
  const fd = (await handles.get(tensor.file)).fd;
  const bytes = Buffer.alloc(unitsPerRun * layout.bytes);
  const values = new Float32Array(runElements);
  let n = 0;
  let sum = 0;
  if (!sampleValues || sampleValues.length < runs * runElements) sampleValues = new Float64Array(runs * runElements);
  const sample = sampleValues;
  const ends = new Int32Array(runs);
  for (let r = 0; r < runs; r++) {
    const unit = Math.floor((r * (units - unitsPerRun)) / (runs - 1));
    const position = tensor.byteOffset + unit * layout.bytes;
    for (let done = 0; done < bytes.length;) {
      const got = readSync(fd, bytes, done, bytes.length - done, position + done);
      if (got === 0) return undefined;
      done += got;
    }
    decodeInto(tensor.dtype, bytes, runElements, values);
    for (const x of values) {
      if (!Number.isFinite(x)) continue;
      sample[n++] = x;
      sum += x;
    }
    ends[r] = n;
  }
  if (n < 2) return undefined;
  const mean = sum / n;
  let m2 = 0;
  let m4 = 0;
  // Each run's mean square about the sample's mean: how much they differ says how well the sample pins σ even when
  // the elements of a run are alike (rows of different scales), where n alone would overstate it.
  let runs2 = 0;
  let runsSquared = 0;
  let counted = 0;
  for (let r = 0, i = 0; r < runs; r++) {
    let run = 0;
    const from = i;
    for (; i < ends[r]!; i++) {
      const d2 = (sample[i]! - mean) ** 2;
      run += d2;
      m4 += d2 * d2;
    }
    m2 += run;
    if (i > from) {
      const v = run / (i - from);
      runs2 += v;
      runsSquared += v * v;
      counted++;
    }
  }
  const variance = m2 / n;
  if (!(variance > 0) || counted < 2) return undefined;
  const kurtosis = m4 / n / (variance * variance);
  // Relative standard errors of σ̂ (half those of σ̂²): as if the elements were independent, and from the runs.
  const independent = Math.sqrt(Math.max(kurtosis - 1, 2) / (4 * n));
  const runMean = runs2 / counted;
  const betweenRuns = (0.5 * Math.sqrt(Math.max(runsSquared / counted - runMean * runMean, 0) / (counted - 1))) / runMean;
  const width = 0.01 + 4 * Math.max(independent, betweenRuns);
  const limit = sigmas * Math.sqrt(variance);
  const center = Math.fround(mean);
  const low = Math.fround(limit * (1 - width));
  const high = Math.fround(limit * (1 + width));
  if (!Number.isFinite(center) || !(low < high)) return undefined;
  return new OutlierBand(center, low, high);
}
