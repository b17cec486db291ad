// Writing a plan the editor made next to its model: always a new file, never over one (a plan the user edited,
// or anything else of the same name), and atomically (the name appears only with the whole text behind it).
import { link, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors';
import { describeFsError } from '../formats/fileio';

const MAX_TRIES = 100;

/** Writes `text` as `<directory>/<stem>.pruneplan.json`, or `<stem>-2`, `-3`, … when taken; returns the path. */
export async function writeNewPlanFile(directory: string, stem: string, text: string): Promise<string> {
  // The temporary file is hard-linked to its name: link() fails on an existing name, where rename() would replace it.
  const temp = join(directory, `.${stem}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(temp, text, { flag: 'wx' });
    for (let n = 1; n <= MAX_TRIES; n++) {
      const target = join(directory, `${stem}${n === 1 ? '' : `-${n}`}.pruneplan.json`);
      try {
        await link(temp, target);
        return target;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    throw new InputError(`${directory} already holds ${MAX_TRIES} plans named ${stem}*.pruneplan.json; remove some`);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`cannot write a plan in ${directory}: ${describeFsError(error)}`);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** A file name stem that says what the plan does: drop-2-layers-block-influence, sparsity-50pct-wanda, … */
export function planStem(kind: string, amount: number, metric: string): string {
  const what: Record<string, string> = {
    'drop-layers': `drop-${amount}-layers`,
    'contiguous-block': `drop-${amount}-layer-block`,
    sparsity: `sparsity-${Math.round(amount * 100)}pct`,
    'drop-heads': `drop-${amount}-kv-groups`,
    'drop-query-heads': `drop-${amount}-query-heads`,
    'drop-experts': `drop-${amount}-experts`,
  };
  return `${what[kind] ?? kind}-${metric}`.replace(/[^A-Za-z0-9._-]/g, '-');
}
