// PEFT adapters (adapter_config.json + adapter_model.*): what was adapted, with which rank and scale. The tensors
// come in lora_A / lora_B pairs per adapted module.
import type { AdapterSummary, InspectTensor } from '../protocol/results';

function positiveNumber(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null;
}

/** The factor PEFT multiplies B·A by: alpha/r, or alpha/√r with use_rslora; null without both numbers. */
export function loraScale(raw: Record<string, unknown>): number | null {
  const r = positiveNumber(raw.r);
  const alpha = positiveNumber(raw.lora_alpha);
  if (r === null || alpha === null) return null;
  return raw.use_rslora === true ? alpha / Math.sqrt(r) : alpha / r;
}

export function summaryFromAdapterConfig(raw: Record<string, unknown>, configPath: string, tensors: readonly InspectTensor[]): AdapterSummary {
  const targets = raw.target_modules;
  return {
    configPath,
    peftType: typeof raw.peft_type === 'string' ? raw.peft_type : null,
    r: positiveNumber(raw.r),
    alpha: positiveNumber(raw.lora_alpha),
    scale: loraScale(raw),
    targetModules: Array.isArray(targets) ? targets.filter((t): t is string => typeof t === 'string') : typeof targets === 'string' ? [targets] : [],
    baseModel: typeof raw.base_model_name_or_path === 'string' ? raw.base_model_name_or_path : null,
    pairs: loraPairs(tensors),
  };
}

/** Modules with both lora_A and lora_B present. */
export function loraPairs(tensors: readonly InspectTensor[]): number {
  const a = new Set<string>();
  const b = new Set<string>();
  for (const t of tensors) {
    const match = /^(.*)\.lora_([AB])(?:\.[^.]+)?\.weight$/.exec(t.name);
    if (match) (match[2] === 'A' ? a : b).add(match[1]!);
  }
  let pairs = 0;
  for (const module of a) if (b.has(module)) pairs++;
  return pairs;
}
