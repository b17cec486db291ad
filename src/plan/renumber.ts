// After blocks are dropped the rest are renumbered 0..n−1, in tensor names and in config.json, so the result is an
// ordinary checkpoint of n blocks that any loader (Hugging Face, this extension) reads without knowing about the
// plan. Per-layer lists in the config follow the blocks they describe.
import { tensorRole } from '../arch/names';
import { gemmaLayerTypes } from '../compute/families/gemma';

const CONTAINER = /(^|[./])(layers|layer|h|blocks|block|blk|decoder_layers|encoder_layers)([._])(\d+)(?=[./]|$)/g;

/** Maps source block indices to their new index (dropped blocks are absent). */
export function blockMapping(layers: number, dropped: ReadonlySet<number>): Map<number, number> {
  const mapping = new Map<number, number>();
  for (let l = 0, next = 0; l < layers; l++) if (!dropped.has(l)) mapping.set(l, next++);
  return mapping;
}

/** The tensor's name with its block index replaced; checked by reading the new name back. */
export function renumberName(name: string, from: number, to: number): string {
  if (from === to) return name;
  let replaced = false;
  let renamed = name.replace(CONTAINER, (whole, lead: string, container: string, sep: string, index: string) => {
    if (replaced || Number(index) !== from) return whole;
    replaced = true;
    return `${lead}${container}${sep}${to}`;
  });
  if (!replaced) {
    // Names whose block is their only numeric segment (tensorRole's fallback).
    const segments = name.split('.');
    const at = segments.findIndex((s) => s === String(from));
    if (at >= 0) {
      segments[at] = String(to);
      renamed = segments.join('.');
      replaced = true;
    }
  }
  if (!replaced || tensorRole(renamed).layer !== to) throw new Error(`cannot renumber '${name}' from block ${from} to ${to}`);
  return renamed;
}

/**
 * config.json after dropping blocks: the layer count, lists with one entry per block (layer_types, ...) filtered,
 * lists of block indices (mlp_only_layers) remapped, Qwen2's max_window_layers (a count from the bottom)
 * recounted, and the layer_types Gemma 2/3 derive from block indices when the config has none written out (else
 * the kept blocks, renumbered, would change between sliding-window and global attention), and Qwen*-MoE's decoder_sparse_step pattern written
 * out as mlp_only_layers.
 */
export function prunedConfig(config: Record<string, unknown>, layerKey: string, layers: number, mapping: ReadonlyMap<number, number>): { config: Record<string, unknown>; changed: string[] } {
  const out: Record<string, unknown> = { ...config };
  const changed: string[] = [];
  const kept = [...mapping.keys()];
  if (kept.length === layers) return { config: out, changed };
  out[layerKey] = kept.length;
  changed.push(layerKey);
  for (const [key, value] of Object.entries(config)) {
    if (key === layerKey) continue;
    if (Array.isArray(value) && value.length === layers && !INDEX_LISTS.has(key)) {
      out[key] = kept.map((l) => value[l]);
      changed.push(key);
    } else if (Array.isArray(value) && INDEX_LISTS.has(key) && value.every((v) => Number.isSafeInteger(v))) {
      out[key] = (value as number[]).filter((l) => mapping.has(l)).map((l) => mapping.get(l)!);
      changed.push(key);
    }
  }
  const implied = Array.isArray(config.layer_types) ? null : gemmaLayerTypes(config);
  if (implied) {
    out.layer_types = kept.map((l) => implied[l]);
    changed.push('layer_types');
  }
  if (typeof config.max_window_layers === 'number') {
    out.max_window_layers = kept.filter((l) => l < (config.max_window_layers as number)).length;
    changed.push('max_window_layers');
  }
  // Qwen*-MoE: block l routes when (l + 1) % decoder_sparse_step = 0 and l is not in mlp_only_layers. Positions move
  // when blocks go, so a step above 1 is written out as the list of dense blocks with decoder_sparse_step 1.
  const step = config.decoder_sparse_step;
  if (typeof step === 'number' && Number.isSafeInteger(step) && step > 1) {
    const only = Array.isArray(config.mlp_only_layers) ? config.mlp_only_layers : [];
    out.mlp_only_layers = kept.filter((l) => only.includes(l) || (l + 1) % step !== 0).map((l) => mapping.get(l)!);
    out.decoder_sparse_step = 1;
    changed.push(...(changed.includes('mlp_only_layers') ? [] : ['mlp_only_layers']), 'decoder_sparse_step');
  }
  return { config: out, changed };
}

/** Config keys that list block indices rather than one value per block. */
const INDEX_LISTS = new Set(['mlp_only_layers', 'layers_block_type_indices', 'no_rope_layers_indices']);
