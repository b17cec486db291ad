// The editor's side of plan files, in plain Node: the new-file writer never replaces a file, and the amount box
// accepts what generatePlan accepts.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAmount } from '../../src/plan/amount';
import { freeSiblingFolder, outputFolderProblem, planStem, writeNewPlanFile } from '../../src/plan/newFile';
import { tempDir } from './helpers';

test('plans are written under a free name, never over an existing file, with no temporary file left', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'drop-1-layers-weight-l2.pruneplan.json'), 'edited by hand');
  const stem = planStem('drop-layers', 1, 'weight-l2');
  const second = await writeNewPlanFile(dir, stem, '{"a":1}\n');
  const third = await writeNewPlanFile(dir, stem, '{"a":2}\n');
  assert.equal(second, join(dir, 'drop-1-layers-weight-l2-2.pruneplan.json'));
  assert.equal(third, join(dir, 'drop-1-layers-weight-l2-3.pruneplan.json'));
  assert.equal(readFileSync(join(dir, 'drop-1-layers-weight-l2.pruneplan.json'), 'utf8'), 'edited by hand');
  assert.equal(readFileSync(third, 'utf8'), '{"a":2}\n');
  assert.equal(readdirSync(dir).length, 3);
  assert.equal(planStem('sparsity', 0.5, 'wanda'), 'sparsity-50pct-wanda');
  await assert.rejects(writeNewPlanFile(join(dir, 'missing'), stem, '{}'), /cannot write a plan in .*missing/);
});

test('amounts: whole counts within the model\'s limit, sparsity as a fraction or a percentage', () => {
  assert.equal(parseAmount('drop-layers', 3, ' 2 '), 2);
  assert.match(String(parseAmount('drop-layers', 3, '4')), /from 1 to 3/);
  assert.match(String(parseAmount('drop-heads', 1, '0.5')), /whole number/);
  assert.match(String(parseAmount('drop-layers', 3, '')), /whole number/);
  assert.equal(parseAmount('sparsity', 0.99, '50%'), 0.5);
  assert.equal(parseAmount('sparsity', 0.99, '0.3'), 0.3);
  assert.match(String(parseAmount('sparsity', 0.99, '1')), /fraction in \(0, 0.99\]/);
  assert.match(String(parseAmount('sparsity', 0.99, 'half')), /fraction/);
});

test('the output folder: a free <model>-pruned sibling by default; missing or empty folders are fine, others refused', () => {
  const dir = tempDir();
  const model = join(dir, 'llama');
  mkdirSync(model);
  assert.equal(freeSiblingFolder(model), join(dir, 'llama-pruned'));
  mkdirSync(join(dir, 'llama-pruned'));
  assert.equal(freeSiblingFolder(model), join(dir, 'llama-pruned-2'));
  assert.equal(outputFolderProblem(join(dir, 'llama-pruned')), null, 'an empty folder may be used');
  writeFileSync(join(dir, 'llama-pruned', 'x'), '');
  assert.match(outputFolderProblem(join(dir, 'llama-pruned'))!, /exists and is not empty/);
  assert.match(outputFolderProblem(join(dir, 'llama-pruned', 'x'))!, /is a file/);
  assert.match(outputFolderProblem(join(dir, 'no', 'such'))!, /is not a folder/);
  assert.match(outputFolderProblem('relative/out')!, /absolute path/);
  assert.equal(outputFolderProblem(join(dir, 'new')), null);
});
