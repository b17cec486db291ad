// The checkpoint formats this build reads: one row each, and everything else reads this table — detection by
// content (detect.ts), the header reader (readers.ts), the message listing what is supported, the open dialog's
// filters (src/vscode/model/commands.ts) and the custom editor's file patterns (package.json, kept equal by a unit test).
// Adding a format: a reader under src/formats/<format>/, a member of CheckpointFormat (types.ts), one row here,
// and its tests (CONTRIBUTING.md).
import { readGgufHeader } from './gguf';
import { readOnnxHeader } from './onnx';
import { readPytorchHeader } from './pytorch';
import { readSafetensorsHeader } from './safetensors';
import type { CheckpointFormat, CheckpointHeader } from './types';

/** What the first bytes of a file say it is; 'json' and 'csv' are no checkpoints but are recognised to say so. */
export type DetectedFormat = 'safetensors' | 'gguf' | 'pytorch-zip' | 'pytorch-legacy' | 'onnx' | 'json' | 'csv' | 'unknown';

export type HeaderReader = (path: string) => Promise<CheckpointHeader>;

export interface CheckpointFormatEntry {
  format: CheckpointFormat;
  /** How messages and dialogs name it. */
  label: string;
  /** File name extensions, lower case, without the dot. */
  extensions: readonly string[];
  /** The variant a file's first bytes (and, where the format has no magic of its own, its extension) show, if any. */
  sniff(head: Buffer, size: number, extension: string): DetectedFormat | undefined;
  /** A file with one of the extensions but no recognisable content is still handed to this reader, to say what is wrong. */
  claimsByExtension: boolean;
  read: HeaderReader;
  /** Opening such a file shows the checkpoint summary editor instead of binary noise. */
  customEditor: boolean;
}

/** The number of leading bytes `sniff` is given. */
export const SNIFF_BYTES = 16;

/** In the order detection tries them: formats with a magic number first, ONNX (a bare protobuf) last. */
export const CHECKPOINT_FORMATS: readonly CheckpointFormatEntry[] = [
  {
    format: 'gguf', label: 'GGUF', extensions: ['gguf'], claimsByExtension: false, read: readGgufHeader, customEditor: true,
    sniff: (head) => (head.length >= 4 && head.toString('latin1', 0, 4) === 'GGUF' ? 'gguf' : undefined),
  },
  {
    format: 'pytorch', label: 'PyTorch', extensions: ['bin', 'pt', 'pth'], claimsByExtension: false, read: readPytorchHeader, customEditor: false,
    sniff: (head, _size, extension) => {
      if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'pytorch-zip';
      // Legacy torch.save: a pickle (protocol 2: 0x80 0x02) starting with the magic number 0x1950a86a20f9469cfc6c;
      // a bare pickle header is too common to claim without the extension.
      if (head.length >= 2 && head[0] === 0x80 && head[1] !== undefined && head[1] <= 5 && ['bin', 'pt', 'pth'].includes(extension)) return 'pytorch-legacy';
      return undefined;
    },
  },
  {
    format: 'safetensors', label: 'safetensors', extensions: ['safetensors'], claimsByExtension: true, read: readSafetensorsHeader, customEditor: true,
    sniff: (head, size) => {
      if (head.length < 9) return undefined;
      const headerLength = head.readBigUInt64LE(0);
      return headerLength > 0n && headerLength + 8n <= BigInt(size) && head[8] === 0x7b /* { */ ? 'safetensors' : undefined;
    },
  },
  {
    format: 'onnx', label: 'ONNX', extensions: ['onnx'], claimsByExtension: true, read: (path) => readOnnxHeader(path), customEditor: true,
    sniff: (head) => (looksLikeOnnx(head) ? 'onnx' : undefined),
  },
];

/** Every format and the other inputs a user can point at, for "supported: …" in error messages. */
export const SUPPORTED_FORMATS = `supported: ${CHECKPOINT_FORMATS.map((f) => `${f.label} (${f.extensions.map((e) => `.${e}`).join('/')})`).join(', ')}, sharded *.index.json, Hugging Face model and adapter directories and their config.json`;

/** The open dialog's filters: every checkpoint extension plus config.json and shard indexes. */
export function openDialogFilters(): Record<string, string[]> {
  return { 'Checkpoints and configs': [...CHECKPOINT_FORMATS.flatMap((f) => f.extensions), 'json'], 'All files': ['*'] };
}

/**
 * ONNX has no magic: a ModelProto starts with ir_version (field 1, varint: tag 0x08, a small version) followed by
 * another known top-level field (producer_name 0x12, producer_version 0x1a, domain 0x22, model_version 0x28,
 * doc_string 0x32, graph 0x3a, opset_import 0x42).
 */
function looksLikeOnnx(head: Buffer): boolean {
  return head.length >= 3 && head[0] === 0x08 && head[1]! >= 1 && head[1]! <= 0x20 && [0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42].includes(head[2]!);
}
