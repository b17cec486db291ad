// Human-readable renderings for the CLI without --json.
import type { InspectResult } from '../protocol/results';
import { formatBytes, formatCount } from '../protocol/units';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  return rows.map((row) => row.map((cell, col) => cell.padEnd(widths[col]!)).join('  ').trimEnd()).join('\n');
}

export function renderInspect(result: InspectResult): string {
  const a = result.architecture;
  const arch = [
    `family ${a.family ?? '?'}`, `layers ${a.layers ?? '?'}`, `hidden ${a.hidden ?? '?'}`, `heads ${a.heads ?? '?'}`,
    `kv heads ${a.kvHeads ?? '?'}`, `intermediate ${a.intermediate ?? '?'}`, `vocab ${a.vocab ?? '?'}`,
    ...(a.experts !== null ? [`experts ${a.experts}`] : []),
  ].join(', ');
  const lines = [
    `${result.path}: ${result.format}, ${formatCount(result.parameters)} parameters in ${result.tensors.length} tensors, ${formatBytes(result.bytes)} in ${result.files.length} file(s)`,
    `architecture (${a.source === 'config' ? 'from config.json' : a.source === 'metadata' ? 'from the file\'s metadata' : 'inferred from tensors'}): ${arch}`,
    ...(result.adapter ? [`adapter: ${result.adapter.peftType ?? '?'} r ${result.adapter.r ?? '?'}, alpha ${result.adapter.alpha ?? '?'}, scale ${result.adapter.scale ?? '?'}, ${result.adapter.pairs} A/B pairs, targets ${result.adapter.targetModules.join(', ') || '?'}, base ${result.adapter.baseModel ?? '?'}`] : []),
    ...result.warnings.map((w) => `warning: ${w}`),
    '',
    table([
      ['name', 'dtype', 'shape', 'params', 'layer', 'module'],
      ...result.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`, formatCount(t.count), t.layer === null ? '-' : String(t.layer), t.module]),
    ]),
  ];
  return lines.join('\n');
}
