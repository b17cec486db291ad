// Streaming accumulation of a weight delta Δ = tuned − base, chunk by chunk: ‖Δ‖², ‖base‖², sign flips, changed
// elements, and an energy histogram of |Δ| from which the DARE drop tolerance is read without sorting.
//
// The histogram keys on the float32 bits of |Δ|: exponent and the top 5 mantissa bits, so 32 bins per octave
// (magnitudes inside a bin differ by less than 2.2%). Memory is 2 × 8192 float64 whatever the tensor's size.

import type { TensorDelta } from '../protocol/results';

const MANTISSA_BITS_KEPT = 5;
const SHIFT = 23 - MANTISSA_BITS_KEPT;
const BINS = 1 << (8 + MANTISSA_BITS_KEPT);
/** DARE drop tolerance keeps ‖Δ_kept‖ ≥ this fraction of ‖Δ‖. */
export const DROP_KEEP_NORM = 0.99;

/** The numbers of one compared tensor (definitions on TensorDelta in protocol/results.ts). */
export type DeltaNumbers = Pick<TensorDelta, 'count' | 'deltaL2' | 'baseL2' | 'relative' | 'signConflict' | 'changed' | 'dropTolerance' | 'nonFinite'>;

export class DeltaAccumulator {
  private deltaSquares = 0;
  private baseSquares = 0;
  private flips = 0;
  private changedCount = 0;
  private nonFinite = 0;
  private count = 0;
  private readonly energy = new Float64Array(BINS);
  private readonly members = new Float64Array(BINS);
  private readonly scratch = new Float32Array(1);
  private readonly bits = new Uint32Array(this.scratch.buffer);

  add(base: Float32Array, tuned: Float32Array, count: number): void {
    const { energy, members, scratch, bits } = this;
    let deltaSquares = 0;
    let baseSquares = 0;
    let flips = 0;
    let changed = 0;
    let nonFinite = 0;
    for (let i = 0; i < count; i++) {
      const b = base[i]!;
      const t = tuned[i]!;
      const d = t - b;
      if (!Number.isFinite(d)) {
        nonFinite++;
        continue;
      }
      baseSquares += b * b;
      if (d === 0) continue;
      changed++;
      const e = d * d;
      deltaSquares += e;
      if ((b > 0 && t < 0) || (b < 0 && t > 0)) flips++;
      scratch[0] = d;
      const bin = (bits[0]! & 0x7fffffff) >>> SHIFT;
      energy[bin] += e;
      members[bin]++;
    }
    this.deltaSquares += deltaSquares;
    this.baseSquares += baseSquares;
    this.flips += flips;
    this.changedCount += changed;
    this.nonFinite += nonFinite;
    this.count += count;
  }

  finish(): DeltaNumbers {
    const finite = this.count - this.nonFinite;
    const deltaL2 = Math.sqrt(this.deltaSquares);
    const baseL2 = Math.sqrt(this.baseSquares);
    return {
      count: this.count,
      deltaL2,
      baseL2,
      relative: baseL2 > 0 ? deltaL2 / baseL2 : null,
      signConflict: finite > 0 ? this.flips / finite : 0,
      changed: finite > 0 ? this.changedCount / finite : 0,
      dropTolerance: finite > 0 ? this.droppable() / finite : 0,
      nonFinite: this.nonFinite,
    };
  }

  /** Elements that can go, smallest |Δ| first (unchanged ones cost nothing), within the energy budget. */
  private droppable(): number {
    const count = this.count - this.nonFinite;
    let budget = (1 - DROP_KEEP_NORM * DROP_KEEP_NORM) * this.deltaSquares;
    let dropped = count - this.changedCount;
    for (let bin = 0; bin < BINS; bin++) {
      const energy = this.energy[bin]!;
      const members = this.members[bin]!;
      if (members === 0) continue;
      if (energy <= budget) {
        budget -= energy;
        dropped += members;
        continue;
      }
      // Inside one bin the magnitudes are within 2.2% of each other: take as many average members as still fit.
      dropped += Math.min(members, Math.floor(budget / (energy / members)));
      break;
    }
    return dropped;
  }
}
