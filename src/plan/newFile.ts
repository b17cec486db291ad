// New files and folders the editor makes for plans: a plan next to its model, always a new file, never over one (a
// plan the user edited, or anything else of the same name), written atomically (the name appears only with the
// whole text behind it); and the folder apply writes to, which must be new or empty.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { link, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
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
    'drop-mlp-channels': amount < 1 ? `drop-${Math.round(amount * 100)}pct-mlp-channels` : `drop-${amount}-mlp-channels`,
  };
  return `${what[kind] ?? kind}-${metric}`.replace(/[^A-Za-z0-9._-]/g, '-');
}

/** `<parent>/<model>-pruned`, or `-pruned-2`, … : the first sibling of the model folder that does not exist. */
export function freeSiblingFolder(model: string): string {
  const stem = join(dirname(model), `${basename(model)}-pruned`);
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? stem : `${stem}-${n}`;
    if (!existsSync(candidate)) return candidate;
  }
}

/** Why apply cannot write to `folder` (null when it can: missing, or an empty folder, which apply then replaces). */
export function outputFolderProblem(folder: string): string | null {
  if (!isAbsolute(folder)) return 'Give an absolute path';
  if (!existsSync(dirname(folder)) || !statSync(dirname(folder)).isDirectory()) return `${dirname(folder)} is not a folder`;
  if (!existsSync(folder)) return null;
  if (!statSync(folder).isDirectory()) return `${folder} is a file; apply writes a new folder`;
  return readdirSync(folder).length > 0 ? `${folder} exists and is not empty; apply never overwrites` : null;
}
