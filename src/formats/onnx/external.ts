// External data (TensorProto.data_location = EXTERNAL): the values live in another file named by the
// external_data entries `location` (relative to the model's directory), `offset` and `length`. A model file is
// untrusted input, so `location` may only name a file under the model's directory: absolute paths and `..`
// segments are refused before anything is opened, and the file's real path must lie inside the directory too
// (containment.ts: a link out of it is refused, a link into a Hugging Face cache's blob store is followed).
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InputError } from '../../errors';
import { containedRealPath, containmentRoot } from '../containment';
import { describeFsError } from '../fileio';
import { MAX_EXTERNAL_FILES } from './limits';

export interface ExternalRange {
  file: string;
  byteOffset: number;
  byteLength: number;
}

export class ExternalFiles {
  private readonly sizes = new Map<string, number>();
  private readonly directory: string;
  private root: Promise<string> | undefined;

  constructor(private readonly modelPath: string) {
    this.directory = dirname(modelPath);
  }

  /** The external files used so far, in order of first use. */
  get files(): string[] {
    return [...this.sizes.keys()];
  }

  async resolve(where: string, entries: ReadonlyArray<[string, string | null]>, expectedBytes: number, describe: string): Promise<ExternalRange> {
    const fail = (message: string): never => {
      throw new InputError(`${this.modelPath}: ${where} ${message}`);
    };
    const values = new Map<string, string | null>(entries);
    const location = values.get('location');
    if (location === undefined || location === null || location === '') {
      return fail(`is stored externally (data_location EXTERNAL) but has no usable external_data 'location'`);
    }
    const file = this.checkedPath(location, fail);
    const offset = parseDecimal(values.get('offset'), 0, 'offset', fail);
    const length = parseDecimal(values.get('length'), expectedBytes, 'length', fail);
    if (length !== expectedBytes) fail(`has ${length} bytes of external data but ${describe} needs ${expectedBytes}`);
    const size = await this.sizeOf(file, location, fail);
    if (offset + length > size) {
      fail(`ends at byte ${offset + length} of external file '${location}' but that file has ${size} bytes`);
    }
    return { file, byteOffset: offset, byteLength: length };
  }

  /** Lexical check first: the path must stay inside the model's directory whatever the file system holds. */
  private checkedPath(location: string, fail: (message: string) => never): string {
    const shown = `'${location}'`;
    if (location.includes('\0')) fail(`names external file ${shown} with a NUL byte`);
    if (/^[\\/]/.test(location) || /^[A-Za-z]:/.test(location)) {
      fail(`names external file ${shown} by an absolute path; only paths inside the model's directory are allowed (security)`);
    }
    // Windows exporters may write backslashes; either separator splits a segment.
    const segments = location.split(/[\\/]+/).filter((segment) => segment !== '' && segment !== '.');
    if (segments.includes('..')) fail(`names external file ${shown} outside the model's directory ('..'); refused (security)`);
    if (segments.length === 0) fail(`names external file ${shown}, which is not a file name`);
    return join(this.directory, ...segments);
  }

  private async sizeOf(file: string, location: string, fail: (message: string) => never): Promise<number> {
    const known = this.sizes.get(file);
    if (known !== undefined) return known;
    if (this.sizes.size >= MAX_EXTERNAL_FILES) fail(`is one tensor too many: more than ${MAX_EXTERNAL_FILES} external files are refused`);
    let size = 0;
    try {
      const info = await stat(file);
      if (!info.isFile()) fail(`names external file '${location}', which is not a regular file (${file})`);
      this.root ??= containmentRoot(this.directory);
      await containedRealPath(await this.root, file, `${this.modelPath}: external file '${location}'`);
      size = info.size;
    } catch (error) {
      if (error instanceof InputError) throw error;
      fail(`names external file '${location}' that cannot be opened (${file}: ${describeFsError(error)})`);
    }
    this.sizes.set(file, size);
    return size;
  }
}

function parseDecimal(text: string | null | undefined, fallback: number, key: string, fail: (message: string) => never): number {
  if (text === undefined) return fallback;
  if (text === null || !/^\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    return fail(`has external_data '${key}' ${JSON.stringify(text)}, which is not a non-negative integer`);
  }
  return Number(text);
}
