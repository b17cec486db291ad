// Hostile file-system entries (issue 12): named pipes where a checkpoint, shard or tokenizer file should be,
// symbolic links out of the model's folder (shards, ONNX external data, tokenizer files apply copies), and apply's
// --out as a dangling link. FIFO cases run the CLI in a child with a timeout, so a reader that blocks in open()
// fails the test instead of hanging it. The Hugging Face cache layout (snapshots/<rev>/file -> ../../blobs/<hash>)
// must keep working.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { InputError } from '../../src/errors';
import { openCheckpoint } from '../../src/formats/open';
import { readOnnxHeader } from '../../src/formats/onnx';
import { applyPlan } from '../../src/plan/apply';
import { modelWithTensor } from '../fixtures/onnx/protoWriter';
import { encodeSafetensors } from '../fixtures/safetensorsWriter';
import { DIST, ROOT, tempDir, writeTemp } from './helpers';
import { makePlan } from './planHelpers';

const MODEL = join(ROOT, 'test', 'fixtures', 'models', 'tiny-qwen2');
const CHILD_TIMEOUT_MS = 20_000;

function cli(...args: string[]): { code: number | null; stderr: string; signal: NodeJS.Signals | null } {
  const run = spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args], { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
  return { code: run.status, stderr: run.stderr, signal: run.signal };
}

function shard(name: string): Buffer {
  return encodeSafetensors([{ name, dtype: 'F32', shape: [2], data: Buffer.alloc(8, 1) }]);
}

function index(map: Record<string, string>): string {
  return JSON.stringify({ metadata: {}, weight_map: map });
}

test('inspect of a named pipe is refused at once, not blocked on', () => {
  const dir = tempDir();
  const fifo = join(dir, 'model.safetensors');
  execFileSync('mkfifo', [fifo]);
  const run = cli('inspect', fifo);
  assert.equal(run.signal, null, 'the CLI did not finish: it blocked on the pipe');
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^importance-lens: .*model\.safetensors is a named pipe \(FIFO\), not a regular file/);
});

test('an index naming a named pipe as a shard is refused at once', () => {
  const dir = tempDir();
  writeTemp(dir, 'model-00001.safetensors', shard('a'));
  execFileSync('mkfifo', [join(dir, 'model-00002.safetensors')]);
  writeTemp(dir, 'model.safetensors.index.json', index({ a: 'model-00001.safetensors', b: 'model-00002.safetensors' }));
  const run = cli('inspect', join(dir, 'model.safetensors.index.json'));
  assert.equal(run.signal, null, 'the CLI did not finish: it blocked on the pipe');
  assert.equal(run.code, 2);
  assert.match(run.stderr, /shard 'model-00002\.safetensors' named in weight_map is not a regular file/);
});

test('a shard that is a symbolic link out of the model folder is refused; links inside it are followed', async () => {
  const dir = tempDir();
  const model = join(dir, 'model');
  mkdirSync(model);
  writeTemp(dir, 'outside.safetensors', shard('b'));
  writeTemp(model, 'real-00001.safetensors', shard('a'));
  symlinkSync('real-00001.safetensors', join(model, 'model-00001.safetensors'));
  symlinkSync(join(dir, 'outside.safetensors'), join(model, 'model-00002.safetensors'));
  writeTemp(model, 'model.safetensors.index.json', index({ a: 'model-00001.safetensors', b: 'model-00002.safetensors' }));
  await assert.rejects(openCheckpoint(model), (error: Error) => {
    assert.ok(error instanceof InputError);
    assert.match(error.message, /shard 'model-00002\.safetensors' resolves through a symbolic link to .*outside\.safetensors, outside .*model; files outside the model's folder are refused \(security\)/);
    return true;
  });
  writeTemp(model, 'model.safetensors.index.json', index({ a: 'model-00001.safetensors' }));
  const { header } = await openCheckpoint(model);
  assert.deepEqual(header!.tensors.map((t) => t.name), ['a']);
});

test('ONNX external data behind a symbolic link out of the model folder is refused', async () => {
  const dir = tempDir();
  const model = join(dir, 'model');
  mkdirSync(model);
  writeTemp(dir, 'secret.bin', Buffer.alloc(12, 7));
  symlinkSync(join(dir, 'secret.bin'), join(model, 'w.bin'));
  const path = writeTemp(model, 'm.onnx', modelWithTensor({ name: 'w', dims: [3], dataType: 1, external: [['location', 'w.bin']] }));
  await assert.rejects(readOnnxHeader(path), /external file 'w\.bin' resolves through a symbolic link to .*secret\.bin, outside .*model; .*refused \(security\)/);
  // A link to a folder outside: the lexical check sees only 'data/w.bin'.
  mkdirSync(join(dir, 'elsewhere'));
  writeTemp(join(dir, 'elsewhere'), 'w.bin', Buffer.alloc(12, 7));
  symlinkSync(join(dir, 'elsewhere'), join(model, 'data'));
  const viaFolder = writeTemp(model, 'm2.onnx', modelWithTensor({ name: 'w', dims: [3], dataType: 1, external: [['location', 'data/w.bin']] }));
  await assert.rejects(readOnnxHeader(viaFolder), /external file 'data\/w\.bin' resolves through a symbolic link to .*elsewhere.*outside/);
});

/** models--org--name/{blobs/<hash>, snapshots/<rev>/<file> -> ../../blobs/<hash>}: how huggingface_hub stores a model. */
function hubCache(root: string, files: Record<string, Buffer>): string {
  const entry = join(root, 'models--org--name');
  const snapshot = join(entry, 'snapshots', '0123abcd');
  mkdirSync(join(entry, 'blobs'), { recursive: true });
  mkdirSync(snapshot, { recursive: true });
  let n = 0;
  for (const [name, data] of Object.entries(files)) {
    const blob = `blob${n++}`;
    writeFileSync(join(entry, 'blobs', blob), data);
    symlinkSync(join('..', '..', 'blobs', blob), join(snapshot, name));
  }
  return snapshot;
}

test('a Hugging Face cache snapshot (every file a link into blobs/) still opens: shards and ONNX external data', async () => {
  const dir = tempDir();
  const snapshot = hubCache(dir, {
    'model-00001.safetensors': shard('a'),
    'model-00002.safetensors': shard('b'),
    'model.safetensors.index.json': Buffer.from(index({ a: 'model-00001.safetensors', b: 'model-00002.safetensors' })),
  });
  const { header } = await openCheckpoint(snapshot);
  assert.deepEqual(header!.tensors.map((t) => t.name).sort(), ['a', 'b']);

  const onnx = hubCache(join(dir, 'onnx'), {
    'model.onnx': modelWithTensor({ name: 'w', dims: [3], dataType: 1, external: [['location', 'model.onnx_data']] }),
    'model.onnx_data': Buffer.alloc(12, 3),
  });
  const read = await readOnnxHeader(join(onnx, 'model.onnx'));
  assert.equal(read.tensors[0]!.byteLength, 12);
});

async function modelCopy(dir: string): Promise<{ model: string; planPath: string }> {
  const model = join(dir, 'model');
  mkdirSync(model);
  for (const name of readdirSync(MODEL)) copyFileSync(join(MODEL, name), join(model, name));
  const planPath = join(dir, 'drop.pruneplan.json');
  await makePlan({ model, dropLayers: 1 }, planPath);
  return { model, planPath };
}

test('apply refuses a tokenizer file that links out of the model folder, and a named pipe, before writing', async () => {
  const dir = tempDir();
  const { model, planPath } = await modelCopy(dir);
  writeTemp(dir, 'secret.txt', 'not for the output');
  const config = join(model, 'tokenizer_config.json');
  const original = readFileSync(config);
  execFileSync('rm', [config]);
  symlinkSync(join(dir, 'secret.txt'), config);
  await assert.rejects(drain(applyPlan(planPath, join(dir, 'out'), { providers: ['cpu'] })), /tokenizer_config\.json resolves through a symbolic link to .*secret\.txt, outside/);
  assert.ok(!readdirSync(dir).some((n) => n.startsWith('out') || n.startsWith('.out')), 'nothing written');

  execFileSync('rm', [config]);
  writeFileSync(config, original);
  execFileSync('mkfifo', [join(model, 'merges.txt')]);
  const run = cli('apply', planPath, '--out', join(dir, 'out2'));
  assert.equal(run.signal, null, 'apply blocked on the pipe');
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /merges\.txt is not a regular file; apply copies only regular files/);
  assert.ok(!readdirSync(dir).some((n) => n.startsWith('out') || n.startsWith('.out')), 'nothing written');
});

test('apply --out to a dangling symbolic link: exit 2 with one line, nothing written', async () => {
  const dir = tempDir();
  const { planPath } = await modelCopy(dir);
  symlinkSync(join(dir, 'nowhere'), join(dir, 'out'));
  const run = cli('apply', planPath, '--out', join(dir, 'out'));
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /^importance-lens: .*out is a symbolic link to nothing \(dangling\); apply writes a new directory/);
  assert.equal(run.stderr.trim().split('\n').length, 1);
  assert.ok(!readdirSync(dir).some((n) => n.startsWith('.out')), 'no temporary folder left');
});

test('apply from a Hugging Face cache snapshot copies the tokenizer files (links into blobs/) as files', async () => {
  const dir = tempDir();
  const files: Record<string, Buffer> = {};
  for (const name of readdirSync(MODEL)) files[name] = readFileSync(join(MODEL, name));
  const snapshot = hubCache(dir, files);
  const planPath = join(dir, 'drop.pruneplan.json');
  await makePlan({ model: snapshot, dropLayers: 1 }, planPath);
  const out = join(dir, 'out');
  const result = await drain(applyPlan(planPath, out, { providers: ['cpu'] }));
  assert.ok(result.files.includes('tokenizer_config.json'));
  assert.deepEqual(readFileSync(join(out, 'tokenizer_config.json')), files['tokenizer_config.json']);
});

test('plan: a config.json that is a named pipe, and --out naming a named pipe, are refused at once', async () => {
  const dir = tempDir();
  const { model } = await modelCopy(dir);
  const fifoOut = join(dir, 'out.pruneplan.json');
  execFileSync('mkfifo', [fifoOut]);
  const toPipe = cli('plan', model, '--drop-layers', '1', '--out', fifoOut);
  assert.equal(toPipe.signal, null, 'plan blocked on the pipe at --out');
  assert.equal(toPipe.code, 2, toPipe.stderr);
  assert.match(toPipe.stderr, /out\.pruneplan\.json exists and is not a regular file; choose another --out path/);

  execFileSync('rm', [join(model, 'config.json')]);
  execFileSync('mkfifo', [join(model, 'config.json')]);
  const fromPipe = cli('plan', model, '--drop-layers', '1');
  assert.equal(fromPipe.signal, null, 'plan blocked on config.json');
  assert.equal(fromPipe.code, 2, fromPipe.stderr);
  assert.match(fromPipe.stderr, /config\.json is a named pipe \(FIFO\), not a regular file/);
});
