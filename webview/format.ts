// Number formatting for measured values (norms, fractions), where counts and bytes use protocol/units.

/** Four significant digits; exponent notation where fixed notation would hide the value. */
export function formatValue(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return x === null ? '—' : String(x);
  if (x === 0) return '0';
  const magnitude = Math.abs(x);
  if (magnitude >= 1e5 || magnitude < 1e-3) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}

/** A fraction in [0, 1] as a percentage; small non-zero fractions keep two significant digits instead of "0.0%". */
export function formatPercent(fraction: number | null): string {
  if (fraction === null || !Number.isFinite(fraction)) return '—';
  if (fraction === 0) return '0%';
  const percent = fraction * 100;
  if (Math.abs(percent) < 0.1) return `${Number(percent.toPrecision(2))}%`;
  return `${percent.toFixed(1)}%`;
}
