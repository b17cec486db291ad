// Number formatting shared by the CLI's text output, the editor's hovers and the webview, so all say "1.23 M" the same way.
// Pure functions with no imports: the webview bundle may import protocol/.

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Four significant digits; exponent notation where fixed notation would hide the value. For measured values
 * (norms, fractions), where counts and bytes use formatCount and formatBytes. */
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
