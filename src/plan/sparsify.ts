// Writes one linear weight with the lowest-scoring `perOutput(ratio)` weights of every output set to zero (Wanda's
// per-output comparison group). Two passes, bounded memory: (1) per output, the k-th smallest score and how many
// ties at it still go, from a block of outputs at a time (contiguous rows for [out, in]; strided columns for GPT-2's
// [in, out], gathered from one sequential pass per block of columns); (2) the raw bytes streamed in order, zeroed
// in place where the score is below the threshold (or ties at it, first in storage order). Zero is all-zero bytes
// in F32/F16/BF16, so bytes are never re-encoded and kept weights stay bit-identical.
import type { FileHandle } from 'node:fs/promises';
import { decodeInto } from '../compute/decode';
import { FileHandles, tensorChunks } from '../compute/tensorStream';
import { throwIfAborted } from '../errors';
import { readExactly } from '../formats/fileio';
import { perOutput } from './allocation';
import { featureAndOutput, type LinearWeight } from './linearWeights';
import type { SafetensorsWriter } from './safetensorsWriter';

/** Scores gathered at once in pass 1: 4 MB of float32. */
const GATHER_ELEMENTS = 1 << 20;
const ELEMENT_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

/** Scores of `count` decoded values starting at flat element `offset`, in place (float32, the same in both passes). */
function score(weight: LinearWeight, values: Float32Array, count: number, offset: number): void {
  if (weight.norms) for (let k = 0; k < count; k++) values[k] = Math.abs(values[k]!) * weight.norms[featureAndOutput(weight, offset + k)[0]]!;
  else for (let k = 0; k < count; k++) values[k] = Math.abs(values[k]!);
}

interface Cut {
  threshold: Float32Array;
  /** Elements equal to the threshold that are still to be zeroed, per output. */
  ties: Int32Array;
}

function cutOf(scores: Float32Array, k: number, cut: Cut, output: number): void {
  if (k === 0) {
    cut.threshold[output] = -Infinity;
    return;
  }
  const sorted = Float32Array.from(scores).sort();
  const t = sorted[k - 1]!;
  let below = 0;
  while (below < k && sorted[below]! < t) below++;
  cut.threshold[output] = t;
  cut.ties[output] = k - below;
}

async function* cuts(weight: LinearWeight, k: number, signal?: AbortSignal): AsyncGenerator<void, Cut> {
  const cut: Cut = { threshold: new Float32Array(weight.outputs), ties: new Int32Array(weight.outputs) };
  if (k === 0) return (cut.threshold.fill(-Infinity), cut);
  const handles = new FileHandles();
  const esize = ELEMENT_BYTES[weight.tensor.dtype]!;
  const block = Math.max(1, Math.floor(GATHER_ELEMENTS / weight.inputs));
  try {
    for (let first = 0; first < weight.outputs; first += block) {
      throwIfAborted(signal);
      const last = Math.min(weight.outputs, first + block);
      const width = last - first;
      const gathered = new Float32Array(width * weight.inputs);
      if (weight.layout === 'out-in') {
        // Rows first..last are one contiguous byte range: read only it.
        const slice = { ...weight.tensor, byteOffset: weight.tensor.byteOffset + first * weight.inputs * esize, count: width * weight.inputs, byteLength: width * weight.inputs * esize };
        for await (const { values, count, offset } of tensorChunks(slice, handles, signal)) {
          score(weight, values, count, first * weight.inputs + offset);
          gathered.set(values.subarray(0, count), offset);
        }
      } else {
        for await (const { values, count, offset } of tensorChunks(weight.tensor, handles, signal)) {
          score(weight, values, count, offset);
          for (let i = 0; i < count; i++) {
            const [input, output] = featureAndOutput(weight, offset + i);
            if (output >= first && output < last) gathered[(output - first) * weight.inputs + input] = values[i]!;
          }
        }
      }
      for (let o = 0; o < width; o++) cutOf(gathered.subarray(o * weight.inputs, (o + 1) * weight.inputs), k, cut, first + o);
      yield;
    }
  } finally {
    await handles.close();
  }
  return cut;
}

/**
 * The zeros writeSparsified writes, made in float32 values of the whole weight instead (what verifying a plan
 * without writing it runs): the same scores, thresholds and ties in storage order. Returns how many it zeroed.
 */
export function sparsifyValues(weight: LinearWeight, values: Float32Array, ratio: number): number {
  const k = perOutput(ratio, weight.inputs);
  if (k === 0) return 0;
  const scores = Float32Array.from(values);
  score(weight, scores, scores.length, 0);
  const cut: Cut = { threshold: new Float32Array(weight.outputs), ties: new Int32Array(weight.outputs) };
  const row = new Float32Array(weight.inputs);
  for (let o = 0; o < weight.outputs; o++) {
    if (weight.layout === 'out-in') row.set(scores.subarray(o * weight.inputs, (o + 1) * weight.inputs));
    else for (let j = 0; j < weight.inputs; j++) row[j] = scores[j * weight.outputs + o]!;
    cutOf(row, k, cut, o);
  }
  let zeroed = 0;
  for (let i = 0; i < values.length; i++) {
    const output = featureAndOutput(weight, i)[1];
    const s = scores[i]!;
    const t = cut.threshold[output]!;
    if (s < t || (s === t && cut.ties[output]! > 0)) {
      if (s === t) cut.ties[output]!--;
      values[i] = 0;
      zeroed++;
    }
  }
  return zeroed;
}

/** Streams the weight into the writer with the zeros in place; returns how many weights it zeroed. */
export async function writeSparsified(weight: LinearWeight, ratio: number, source: FileHandle, writer: SafetensorsWriter, signal?: AbortSignal): Promise<number> {
  const k = perOutput(ratio, weight.inputs);
  const generator = cuts(weight, k, signal);
  let step = await generator.next();
  while (!step.done) step = await generator.next();
  const cut = step.value;
  const { tensor } = weight;
  const esize = ELEMENT_BYTES[tensor.dtype]!;
  const chunk = GATHER_ELEMENTS;
  const values = new Float32Array(Math.min(chunk, Math.max(1, tensor.count)));
  let zeroed = 0;
  for (let offset = 0; offset < tensor.count; offset += chunk) {
    throwIfAborted(signal);
    const count = Math.min(chunk, tensor.count - offset);
    const bytes = await readExactly(source, tensor.byteOffset + offset * esize, count * esize, tensor.file);
    decodeInto(tensor.dtype, bytes, count, values);
    score(weight, values, count, offset);
    for (let i = 0; i < count; i++) {
      const output = featureAndOutput(weight, offset + i)[1];
      const s = values[i]!;
      const t = cut.threshold[output]!;
      if (s < t || (s === t && cut.ties[output]! > 0)) {
        if (s === t) cut.ties[output]!--;
        bytes.fill(0, i * esize, (i + 1) * esize);
        zeroed++;
      }
    }
    await writer.write(bytes);
  }
  return zeroed;
}
