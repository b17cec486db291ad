// ‖B·A‖_F for a LoRA pair without forming the out×in product: ‖BA‖²_F = tr(AᵀBᵀBA) = Σ_ij (BᵀB)_ij (AAᵀ)_ij,
// two r×r Gram matrices. A is [r, in] and B is [out, r], both row-major as PEFT stores them.

export function loraProductNorm(a: Float32Array, b: Float32Array, r: number): number {
  const inFeatures = a.length / r;
  const outFeatures = b.length / r;
  if (!Number.isInteger(inFeatures) || !Number.isInteger(outFeatures)) throw new Error('loraProductNorm: shapes do not match the rank');
  const gramA = new Float64Array(r * r); // A Aᵀ
  for (let i = 0; i < r; i++) {
    for (let j = i; j < r; j++) {
      let dot = 0;
      for (let k = 0; k < inFeatures; k++) dot += a[i * inFeatures + k]! * a[j * inFeatures + k]!;
      gramA[i * r + j] = dot;
      gramA[j * r + i] = dot;
    }
  }
  const gramB = new Float64Array(r * r); // Bᵀ B
  for (let row = 0; row < outFeatures; row++) {
    const base = row * r;
    for (let i = 0; i < r; i++) {
      const bi = b[base + i]!;
      if (bi === 0) continue;
      for (let j = 0; j < r; j++) gramB[i * r + j]! += bi * b[base + j]!;
    }
  }
  let sum = 0;
  for (let i = 0; i < r * r; i++) sum += gramA[i]! * gramB[i]!;
  return Math.sqrt(Math.max(sum, 0));
}
