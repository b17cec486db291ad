// Writing outputs without ever damaging a user's file: write a temp file next to the target, then rename over
// it. An existing file is replaced only when it is one of our own reports (marked in its first bytes).
import { open, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../errors';
import { describeFsError } from '../formats/fileio';

export const REPORT_MARKER = '<meta name="generator" content="importance-lens">';

export async function writeFileAtomically(target: string, contents: string | Buffer): Promise<void> {
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(temp, contents, { flag: 'wx' });
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new InputError(`cannot write ${target}: ${describeFsError(error)}`);
  }
}

/** Refuses to replace a file that is not an earlier Importance Lens report. */
export async function assertReplaceableReport(target: string): Promise<void> {
  let handle;
  try {
    handle = await open(target, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new InputError(`cannot check ${target}: ${describeFsError(error)}`);
  }
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    if (!head.subarray(0, bytesRead).toString('utf8').includes(REPORT_MARKER)) {
      throw new InputError(`${target} exists and is not an Importance Lens report; choose another --out path`);
    }
  } finally {
    await handle.close();
  }
}
