// Discretised mutual information. Numbers are cut at quantiles into bins of equal frequency; the counting itself is
// streamed into contingency tables (fine bins × target bins), and the fine bins are merged into equal-frequency
// coarse bins once all counts are in, so the bins follow the whole file even though the fine cut points come from
// its first rows.

/** Sorted cut points that split `values` (NaN ignored) into `bins` groups of equal frequency; duplicates removed. */
export function quantileEdges(values: Float64Array, bins: number): Float64Array {
  const present = values.filter((v) => v === v).sort();
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const v = present[Math.min(present.length - 1, Math.floor((k * present.length) / bins))];
    if (v !== undefined && (edges.length === 0 || v > edges[edges.length - 1]!)) edges.push(v);
  }
  return Float64Array.from(edges);
}

/** The bin of `v` for cut points `edges`: bin i holds edges[i-1] <= v < edges[i]. */
export function binOf(edges: Float64Array, v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v < edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Coarse bins for a number of rows: about n^(1/3) (a common rule for histogram MI), between 3 and 16. */
export function coarseBinCount(rows: number): number {
  return Math.max(3, Math.min(16, Math.round(Math.cbrt(rows))));
}

/**
 * Merges adjacent fine bins (rows of `joint`, the last row being "missing") into `bins` groups of about equal
 * total count; the missing row stays its own bin. Returns the merged table, `targets` columns wide.
 */
export function mergeFineBins(joint: Float64Array, fine: number, targets: number, bins: number): { table: Float64Array; rows: number } {
  const marginal = new Float64Array(fine);
  let total = 0;
  for (let x = 0; x < fine - 1; x++) {
    for (let t = 0; t < targets; t++) marginal[x]! += joint[x * targets + t]!;
    total += marginal[x]!;
  }
  const group = new Int32Array(fine);
  let current = 0;
  let filled = 0;
  for (let x = 0; x < fine - 1; x++) {
    group[x] = current;
    filled += marginal[x]!;
    if (filled >= ((current + 1) * total) / bins && current < bins - 1) current++;
  }
  const groups = fine > 1 ? group[fine - 2]! + 1 : 0;
  group[fine - 1] = groups;
  const table = new Float64Array((groups + 1) * targets);
  for (let x = 0; x < fine; x++) for (let t = 0; t < targets; t++) table[group[x]! * targets + t]! += joint[x * targets + t]!;
  return { table, rows: groups + 1 };
}

/**
 * Mutual information (nats) of a contingency table with the Miller–Madow correction: each plug-in entropy is
 * biased low by (m − 1)/(2N), m its occupied cells, so MI gains (mx + my − mxy − 1)/(2N) of bias; the result is
 * clamped at 0.
 */
export function mutualInformation(table: Float64Array, rows: number, cols: number): number {
  const px = new Float64Array(rows);
  const py = new Float64Array(cols);
  let n = 0;
  for (let x = 0; x < rows; x++) {
    for (let y = 0; y < cols; y++) {
      const c = table[x * cols + y]!;
      px[x]! += c;
      py[y]! += c;
      n += c;
    }
  }
  if (n === 0) return 0;
  let mi = 0;
  let cells = 0;
  for (let x = 0; x < rows; x++) {
    for (let y = 0; y < cols; y++) {
      const c = table[x * cols + y]!;
      if (c === 0) continue;
      cells++;
      mi += (c / n) * Math.log((c * n) / (px[x]! * py[y]!));
    }
  }
  const mx = px.filter((v) => v > 0).length;
  const my = py.filter((v) => v > 0).length;
  const corrected = mi + (mx - 1 + (my - 1) - (cells - 1)) / (2 * n);
  return Math.max(0, corrected);
}
