// The amount a user types for a plan (a count of blocks, heads, experts or MLP channels, or a fraction), checked as
// generatePlan checks it. A leaf module: the extension host's Plan Pruning input box reads it, and the plan
// modules beside it open models and run the engine, which the host's bundle must not carry.
import type { PlanKind } from '../protocol/plan';

/** The amount, validated as generatePlan would: a count in 1..max, or a sparsity fraction (0.5 or 50%). */
export function parseAmount(kind: PlanKind, max: number, raw: string): number | string {
  const text = raw.trim();
  if (kind === 'sparsity') {
    const value = text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : Number(text);
    if (text === '' || !Number.isFinite(value) || value <= 0 || value > max) return `A fraction in (0, ${max}], such as 0.5 or 50%`;
    return value;
  }
  if (kind === 'drop-mlp-channels') {
    // A count of channels per block, or a fraction of the width (0.25 or 25%), as plan --drop-mlp-channels takes.
    const value = text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : Number(text);
    const fraction = value > 0 && value < 1;
    if (text === '' || !(fraction || (Number.isSafeInteger(value) && value >= 1 && value <= max))) return `A whole number from 1 to ${max}, or a fraction of the width such as 0.25 or 25%`;
    return value;
  }
  const value = Number(text);
  if (text === '' || !Number.isSafeInteger(value) || value < 1 || value > max) return `A whole number from 1 to ${max}`;
  return value;
}
