// Format by content, not by extension: the first bytes say what a file is (the sniffers of the format registry,
// registry.ts). The extension is only a tie-breaker for formats without magic (ONNX is a bare protobuf, CSV is text).
import { extname } from 'node:path';
import { openForReading, readExactly } from './fileio';
import { CHECKPOINT_FORMATS, SNIFF_BYTES, type DetectedFormat } from './registry';

export type { DetectedFormat } from './registry';

export async function detectFormat(path: string): Promise<DetectedFormat> {
  const { handle, size } = await openForReading(path);
  let head: Buffer;
  try {
    head = await readExactly(handle, 0, Math.min(size, SNIFF_BYTES), path);
  } finally {
    await handle.close();
  }
  return detectFromBytes(head, size, path);
}

export function detectFromBytes(head: Buffer, size: number, path: string): DetectedFormat {
  const extension = extname(path).toLowerCase().slice(1);
  for (const entry of CHECKPOINT_FORMATS) {
    const detected = entry.sniff(head, size, extension);
    if (detected) return detected;
  }
  // A damaged file of a format without a reliable magic: its reader says exactly what is wrong.
  const claimed = CHECKPOINT_FORMATS.find((entry) => entry.claimsByExtension && entry.extensions.includes(extension));
  if (claimed) return claimed.format as DetectedFormat;
  if (extension === 'json') return 'json';
  if (extension === 'csv' || extension === 'tsv') return 'csv';
  return 'unknown';
}
