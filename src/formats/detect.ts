// Format by content, not by extension: the first bytes say what a file is. The extension is only a tie-breaker
// for formats without magic (ONNX is a bare protobuf, CSV is text).
import { extname } from 'node:path';
import { openForReading, readExactly } from './fileio';

export type DetectedFormat = 'safetensors' | 'gguf' | 'pytorch-zip' | 'pytorch-legacy' | 'onnx' | 'json' | 'csv' | 'unknown';

const SNIFF_BYTES = 16;

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
  const ext = extname(path).toLowerCase();
  if (head.length >= 4 && head.toString('latin1', 0, 4) === 'GGUF') return 'gguf';
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'pytorch-zip';
  // Legacy torch.save: a pickle (protocol 2: 0x80 0x02) starting with the magic number 0x1950a86a20f9469cfc6c.
  if (head.length >= 2 && head[0] === 0x80 && head[1] !== undefined && head[1] <= 5 && (ext === '.bin' || ext === '.pt' || ext === '.pth')) {
    return 'pytorch-legacy';
  }
  if (head.length >= 9) {
    const headerLength = head.readBigUInt64LE(0);
    if (headerLength > 0n && headerLength + 8n <= BigInt(size) && head[8] === 0x7b /* { */) return 'safetensors';
  }
  if (looksLikeOnnx(head)) return 'onnx';
  if (ext === '.safetensors') return 'safetensors'; // damaged: let the reader say exactly what is wrong
  if (ext === '.json') return 'json';
  if (ext === '.csv' || ext === '.tsv') return 'csv';
  if (ext === '.onnx') return 'onnx';
  return 'unknown';
}

/**
 * ONNX has no magic: a ModelProto starts with ir_version (field 1, varint: tag 0x08, a small version) followed by
 * another known top-level field (producer_name 0x12, producer_version 0x1a, domain 0x22, model_version 0x28,
 * doc_string 0x32, graph 0x3a, opset_import 0x42).
 */
function looksLikeOnnx(head: Buffer): boolean {
  return head.length >= 3 && head[0] === 0x08 && head[1]! >= 1 && head[1]! <= 0x20 && [0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42].includes(head[2]!);
}
