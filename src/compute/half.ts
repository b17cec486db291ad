// IEEE half precision -> float32, by table: 65 536 entries (256 KB) built once, faster than bit arithmetic per
// element in the F16 and GGML block decoders.

const F16_TABLE = buildF16Table();

export function halfToFloat(bits: number): number {
  return F16_TABLE[bits]!;
}

function buildF16Table(): Float32Array {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) table[h] = sign * mantissa * 2 ** -24;
    else if (exponent === 31) table[h] = mantissa ? NaN : sign * Infinity;
    else table[h] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return table;
}

