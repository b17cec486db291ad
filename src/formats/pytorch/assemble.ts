// The last steps both container formats share: name the tensors, turn views into byte ranges, and say what was
// found on the way (security findings first). A file whose pickle names forbidden globals is still read when
// tensors can be recovered from it; it is refused only when nothing can be.
import { InputError } from '../../errors';
import type { CheckpointHeader } from '../types';
import { flattenTensors } from './flatten';
import type { PyValue } from './pyvalue';
import { toTensorInfos, type StorageLocator } from './tensors';
import type { TorchHost } from './torchHost';

export interface AssembleInput {
  path: string;
  /** The unpickled top-level object. */
  root: PyValue;
  host: TorchHost;
  /** Names the pickle in messages ("data.pkl", "the legacy pickle"). */
  source: string;
  locate: StorageLocator;
  metadata: Record<string, string>;
  warnings: string[];
}

/**
 * Runs the reading of a pickle whose globals `host` records; when it is refused for a structural reason after a
 * forbidden global was named, the refusal keeps the security finding (the CLI prints the message's one line).
 */
export async function keepingFindings<T>(host: TorchHost, source: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (!(error instanceof InputError) || host.findings.size === 0 || error.message.includes('security:')) throw error;
    throw new InputError(`${error.message}; ${host.securityClause(source)}`);
  }
}

export async function assembleHeader(input: AssembleInput): Promise<CheckpointHeader> {
  const { path, host, source } = input;
  const flat = flattenTensors(input.root, `${path}: ${source}`);
  if (flat.tensors.length === 0 && host.findings.size > 0) {
    throw new InputError(
      `${path}: security: ${source} references ${[...host.findings].join(', ')}; nothing was executed, and no tensors can be recovered from it, so the file is refused`,
    );
  }
  const warnings = [...host.securityWarnings(path, source), ...input.warnings, ...flat.warnings.map((w) => `${path}: ${w}`)];
  const tensors = await toTensorInfos(flat.tensors, input.locate, path, warnings);
  if (flat.unsupported.length > 0) {
    const listed = flat.unsupported.slice(0, 5).map((u) => `'${u.name}' (${u.reason})`).join(', ');
    warnings.push(`${path}: ${flat.unsupported.length} tensor(s) were skipped: ${listed}${flat.unsupported.length > 5 ? ', ...' : ''}`);
  }
  if (flat.skipped.count > 0) {
    const examples = flat.skipped.examples.map((e) => `'${e}'`).join(', ');
    warnings.push(`${path}: ${flat.skipped.count} non-tensor value(s) were skipped (e.g. ${examples})`);
  }
  return { format: 'pytorch', files: [path], tensors, metadata: input.metadata, warnings };
}
