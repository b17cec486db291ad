// A GGUF file seen as the Hugging Face checkpoint a family asks for: llama.cpp's tensor names mapped to HF's
// (arch/ggufModels.ts), dims reversed (GGUF lists ne[0], the contiguous row, first: an HF [out, in] weight is
// stored as [in, out] with the same row-major bytes), and after decoding what llama.cpp's converter did undone: the
// q/k row permutation (so the family's rotate-half RoPE sees HF's layout) and Gemma's 1 + w norm weights (the
// family graph adds the 1 itself; for w ≥ −0.5, (w + 1) − 1 + 1 is exactly the stored float32 w + 1 again). An
// MoE block's routed experts are slices of llama.cpp's stacked tensors (ggufExpertSlice), read one expert at a time;
// Qwen2-MoE's shared-expert gate, HF's [1, hidden], is stored 1-D ([hidden]), which ggml's shapes equate.
import { ggufExpertSlice, ggufTensorName, permutedHeads, type GgufArchitecture } from '../../arch/ggufModels';
import type { ModelSpec } from '../../arch/modelSpec';
import type { TensorView } from './weightReader';

export function ggufView(spec: ModelSpec, architecture: GgufArchitecture): TensorView {
  return {
    own: (name) => ggufTensorName(name, architecture) ?? name,
    slice: ggufExpertSlice,
    stored: (shape) => [...shape].reverse(),
    sameShape: (actual, stored) => withoutTrailingOnes(actual) === withoutTrailingOnes(stored),
    restore: (ownName, values) => {
      const heads = permutedHeads(spec, architecture, ownName);
      if (heads !== null) unpermuteRows(values, heads, values.length / (heads * spec.headDim));
      const shift = architecture.normShift;
      if (shift !== undefined && ownName.endsWith('norm.weight')) for (let i = 0; i < values.length; i++) values[i]! -= shift;
    },
    shapeSource: 'its GGUF metadata',
  };
}

/** GGUF dims as ggml compares them: trailing 1s (ne padded to 4 dims) make no difference. */
function withoutTrailingOnes(dims: readonly number[]): string {
  let end = dims.length;
  while (end > 0 && dims[end - 1] === 1) end--;
  return dims.slice(0, end).join();
}

/**
 * Undoes convert_hf_to_gguf.py's LlamaModel.permute on a [heads·headDim, width] matrix (width 1: a bias): there,
 * within each head, HF row j·(d/2) + i (half j, pair i) was stored as row 2i + j. In place, one head at a time.
 */
export function unpermuteRows(values: Float32Array, heads: number, width: number): void {
  const rowsPerHead = values.length / (heads * width);
  if (!Number.isInteger(rowsPerHead) || rowsPerHead % 2 !== 0) throw new Error(`unpermuteRows: ${values.length} values are not ${heads} heads of an even number of rows of ${width}`);
  const half = rowsPerHead / 2;
  const head = new Float32Array(rowsPerHead * width);
  for (let h = 0; h < heads; h++) {
    const base = h * rowsPerHead * width;
    head.set(values.subarray(base, base + rowsPerHead * width));
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < half; i++) {
        const from = (2 * i + j) * width;
        values.set(head.subarray(from, from + width), base + (j * half + i) * width);
      }
    }
  }
}
