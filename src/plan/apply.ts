// `apply PLAN --out DIR`: a new Hugging Face directory with the plan carried out. Everything that can be wrong
// with the plan is found before the first byte is written (validate.ts, checkAgainstModel.ts, the output path).
// The directory is built under a temporary name beside DIR and renamed into place at the end, so DIR either does
// not exist or is complete; the source files are only ever opened for reading. Tensors are streamed by range.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, copyFile, lstat, mkdtemp, readFile, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DEFAULT_MAX_TOKENS } from '../analyses/textInput';
import { FileHandles } from '../compute/tensorStream';
import { InputError, throwIfAborted } from '../errors';
import { containedRealPath, containmentRoot } from '../formats/containment';
import { pathKind } from '../formats/fileio';
import { openCheckpoint } from '../formats/open';
import type { Progress } from '../protocol/results';
import { writeFileAtomically } from '../report/write';
import { plannedConfigText } from './configText';
import { checkAgainstModel } from './checkAgainstModel';
import { attachInputNorms, linearWeights, type LinearWeight } from './linearWeights';
import { indexText, plannedEntries, plannedLayout } from './layout';
import { SafetensorsWriter } from './safetensorsWriter';
import { writeSlice } from './slice';
import { fileSha256, openSource } from './source';
import { writeSparsified } from './sparsify';
import type { ApplyResult, PrunePlan } from './types';
import { readPlanFile } from './validate';

/** Files beside the weights that a reloaded checkpoint needs (tokenizer, generation defaults); copied as they are. */
export const COPIED_FILES = [
  'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json', 'vocab.json', 'merges.txt',
  'tokenizer.model', 'spiece.model', 'generation_config.json', 'chat_template.jinja', 'chat_template.json',
];
/** Wanda's input norms on the plan's own text, refused when that text changed since the plan was made. */
export async function* attachPlanInputNorms(plan: PrunePlan, planPath: string, source: Parameters<typeof attachInputNorms>[0], weights: LinearWeight[], providers: readonly string[] | undefined, signal?: AbortSignal): AsyncGenerator<Progress, void> {
  const text = plan.metric.text!;
  const file = isAbsolute(text.file) ? text.file : resolve(dirname(planPath), text.file);
  if (text.sha256 !== undefined && (await fileSha256(file)) !== text.sha256) {
    throw new InputError(`${planPath}: metric.text ${file} changed since the plan was made (sha256 differs); Wanda scores would differ: make a new plan`);
  }
  yield* attachInputNorms(source, weights, { file }, text.maxTokens ?? DEFAULT_MAX_TOKENS, providers, signal);
}

export async function* applyPlan(planPath: string, outPath: string, options: { providers?: readonly string[] } = {}, signal?: AbortSignal): AsyncGenerator<Progress, ApplyResult> {
  const plan = await readPlanFile(planPath);
  const planDir = dirname(planPath);
  const modelDir = resolve(planDir, plan.model.path);
  const source = await openSource(modelDir);
  if (source.format === 'gguf') throw new InputError(`${planPath}: is a plan for the GGUF model ${source.path}; writing a pruned GGUF is not supported in this version: verify it without writing (apply PLAN --verify --text-file F, no --out)`);
  const checked = checkAgainstModel(plan, source, planPath);
  const out = resolve(outPath);
  await checkOutput(out, source.directory);

  const layout = plannedLayout(source, checked);
  const { mapping, slices, shards } = layout;
  const weights = checked.ratios.size > 0 ? linearWeights(source) : [];
  if (checked.sparsityMetric === 'wanda') yield* attachPlanInputNorms(plan, planPath, source, weights, options.providers, signal);
  const sparsified = new Map<string, LinearWeight>(weights.filter((w) => checked.ratios.has(w.layer)).map((w) => [w.tensor.name, w]));
  const copied = await filesToCopy(source.directory);
  const planHash = createHash('sha256').update(await readFile(planPath)).digest('hex');

  const temp = await mkdtemp(join(dirname(out), `.${basename(out)}.tmp-`));
  const handles = new FileHandles();
  let zeroed = 0;
  let renamed = false;
  try {
    let done = 0;
    for (const [shard, entries] of shards) {
      let closed = false;
      const writer = await SafetensorsWriter.create(join(temp, shard), entries.map(({ tensor, name, shape, byteLength }) => ({ name, dtype: tensor.dtype, shape, byteLength })), {
        format: 'pt',
        importance_lens_plan: `sha256:${planHash}`,
      });
      try {
        for (const { tensor } of entries) {
          throwIfAborted(signal);
          yield { message: `Writing ${shard}: ${tensor.name}`, fraction: done++ / source.tensors.length };
          const handle = await handles.get(tensor.file);
          const weight = sparsified.get(tensor.name);
          const slice = slices.get(tensor.name);
          if (slice) await writeSlice(tensor, slice, handle, writer);
          else if (weight) zeroed += await writeSparsified(weight, checked.ratios.get(weight.layer)!, handle, writer, signal);
          else await writer.copyRange(handle, tensor.file, tensor.byteOffset, tensor.byteLength);
        }
        await writer.close();
        closed = true;
      } finally {
        // Also when the generator is returned from at a yield (a cancel between tensors): no catch runs then.
        if (!closed) await writer.abandon();
      }
    }
    if (source.indexFile) await writeFileAtomically(join(temp, source.indexFile), indexText(plannedEntries(layout)));
    await writeFileAtomically(join(temp, 'config.json'), plannedConfigText(source.configText, source.config, layout.config));
    // From the real path checked above: the copy is of a regular file inside the model's folder.
    for (const { name, real } of copied) await copyFile(real, join(temp, name), constants.COPYFILE_EXCL);
    if (await entryExists(out)) throw new InputError(`${out} appeared while the checkpoint was being written; apply never overwrites (the result is discarded)`);
    // mkdtemp makes the directory private (0700); the result is an ordinary model directory.
    await chmod(temp, 0o755);
    await rename(temp, out);
    renamed = true;
  } finally {
    if (!renamed) await rm(temp, { recursive: true, force: true });
    await handles.close();
  }

  // Read the result back the way every analysis does: the numbers reported are the written checkpoint's.
  const { header } = await openCheckpoint(out);
  const written = header?.tensors ?? [];
  const files = [...shards.keys(), ...(source.indexFile ? [source.indexFile] : []), 'config.json', ...copied.map((c) => c.name)].sort();
  const warnings = [];
  const after = written.reduce((s, t) => s + t.count, 0);
  if (plan.predicted.parameters.after !== after) warnings.push(`the plan predicted ${plan.predicted.parameters.after} parameters after pruning, the result has ${after} (was the plan edited? its "predicted" is informational)`);
  if (zeroed > 0) warnings.push(`sparsity set ${zeroed} weights to zero; zeros are stored, so the files are not smaller (use a sparse runtime or a structured action to save memory)`);
  return {
    out,
    source: source.directory,
    files,
    parameters: { before: source.parameters, after },
    bytes: { before: source.bytes, after: written.reduce((s, t) => s + t.byteLength, 0) },
    layers: { before: source.layers, after: mapping.size },
    zeroed,
    configChanges: layout.configChanges,
    warnings,
  };
}

/**
 * The COPIED_FILES the model's folder has, each a regular file whose real path is inside the folder (or, in a
 * Hugging Face cache, inside its cache entry): a link to a file elsewhere would copy that file's contents into the
 * new checkpoint, and a named pipe would block the copy forever. Either is refused before anything is written.
 */
async function filesToCopy(directory: string): Promise<{ name: string; real: string }[]> {
  const root = await containmentRoot(directory);
  const files = [];
  for (const name of COPIED_FILES) {
    const path = join(directory, name);
    if (!(await entryExists(path))) continue;
    const kind = await pathKind(path);
    if (kind === 'missing') throw new InputError(`${path} is a symbolic link to nothing (dangling); remove it or make it a file before apply copies the tokenizer files`);
    if (kind !== 'file') throw new InputError(`${path} is not a regular file; apply copies only regular files beside the weights`);
    files.push({ name, real: await containedRealPath(root, path, path) });
  }
  return files;
}

function isInsideOrSame(root: string, path: string): boolean {
  const inside = relative(root, path);
  return inside === '' || (!inside.startsWith(`..${sep}`) && inside !== '..' && !isAbsolute(inside));
}

/** Whether anything is at `path`, a dangling symbolic link included (stat would say it is missing). */
async function entryExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new InputError(`cannot check ${path}: ${(error as Error).message}`);
  }
}

/** DIR must not exist (not even as a dangling link), its parent must, and it must not lie inside the source checkpoint. */
async function checkOutput(out: string, sourceDir: string): Promise<void> {
  if ((await pathKind(out)) === 'missing' && (await entryExists(out))) {
    throw new InputError(`${out} is a symbolic link to nothing (dangling); apply writes a new directory and never replaces a link (choose another --out or remove the link)`);
  }
  if (await entryExists(out)) throw new InputError(`${out} already exists; apply writes a new directory and never overwrites (choose another --out)`);
  if ((await pathKind(dirname(out))) !== 'directory') throw new InputError(`${dirname(out)}: the parent of --out is not a directory`);
  // By real path too: a parent that is a link into the model's folder would put DIR inside it.
  const realOut = join(await realpath(dirname(out)), basename(out));
  const realSource = await realpath(sourceDir);
  if (isInsideOrSame(sourceDir, out) || isInsideOrSame(realSource, realOut)) {
    throw new InputError(`${out} is inside the source checkpoint ${sourceDir}; apply never writes into the original`);
  }
}
