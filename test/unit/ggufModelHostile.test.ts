// GGUF models that do not hold together, built byte by byte (test/fixtures/gguf/ggufBytes.ts): each is refused with
// the tensor or key at fault and what was expected, from the library and from the CLI (exit 2, one line).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { LanguageModel } from '../../src/compute/languageModel';
import { InputError } from '../../src/errors';
import { gguf, GT, kv, kvString, kvU32, tensorInfo, VT } from '../fixtures/gguf/ggufBytes';
import { DIST, tempDir, writeTemp } from './helpers';

const HIDDEN = 8, FFN = 16, VOCAB = 10;
/** GGUF dims (innermost first) of a one-block llama with 2 heads of 4. */
const LLAMA_TENSORS: [string, number[]][] = [
  ['token_embd.weight', [HIDDEN, VOCAB]], ['output_norm.weight', [HIDDEN]],
  ['blk.0.attn_norm.weight', [HIDDEN]], ['blk.0.attn_q.weight', [HIDDEN, HIDDEN]], ['blk.0.attn_k.weight', [HIDDEN, HIDDEN]],
  ['blk.0.attn_v.weight', [HIDDEN, HIDDEN]], ['blk.0.attn_output.weight', [HIDDEN, HIDDEN]], ['blk.0.ffn_norm.weight', [HIDDEN]],
  ['blk.0.ffn_gate.weight', [HIDDEN, FFN]], ['blk.0.ffn_up.weight', [HIDDEN, FFN]], ['blk.0.ffn_down.weight', [FFN, HIDDEN]],
];

/** A one-block model file, its tensors F32 with small nonzero values. */
function modelFile(architecture: string, tensors = LLAMA_TENSORS): Buffer {
  const kvs = [
    kvString('general.architecture', architecture), kvU32(`${architecture}.block_count`, 1), kvU32(`${architecture}.context_length`, 32),
    kvU32(`${architecture}.embedding_length`, HIDDEN), kvU32(`${architecture}.feed_forward_length`, FFN),
    kvU32(`${architecture}.attention.head_count`, 2), kv(`${architecture}.attention.layer_norm_rms_epsilon`, VT.float32, f32(1e-5)),
  ];
  const infos: Buffer[] = [];
  const data: Buffer[] = [];
  let offset = 0;
  for (const [name, dims] of tensors) {
    const count = dims.reduce((a, b) => a * b, 1);
    const bytes = Buffer.concat(Array.from({ length: count }, (_, i) => f32(((i % 7) - 3) / 10)));
    infos.push(tensorInfo(name, dims, GT.F32, offset));
    const padded = Buffer.concat([bytes, Buffer.alloc((32 - (bytes.length % 32)) % 32)]);
    data.push(padded);
    offset += padded.length;
  }
  return gguf({ kvs, infos, data: Buffer.concat(data) });
}

function f32(x: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeFloatLE(x);
  return b;
}

async function refused(file: Buffer, pattern: RegExp): Promise<void> {
  const path = writeTemp(tempDir(), 'model.gguf', file);
  await assert.rejects(LanguageModel.open(path, ['cpu']), (e: unknown) => e instanceof InputError && pattern.test(e.message), String(pattern));
}

test('a well-formed one-block llama GGUF opens', async () => {
  const model = await LanguageModel.open(writeTemp(tempDir(), 'model.gguf', modelFile('llama')), ['cpu']);
  try {
    assert.deepEqual([model.layers, model.hidden, model.vocab, model.spec.kind === 'llama' && model.spec.tiedEmbeddings], [1, HIDDEN, VOCAB, true]);
    const { logits } = await model.forward([[1, 2, 3]]);
    assert.ok(logits.every(Number.isFinite));
  } finally {
    await model.release();
  }
});

test('GGUF tensors that do not match the metadata are refused, naming the tensor and both shapes', async () => {
  const swap = (name: string, dims: number[]) => LLAMA_TENSORS.map(([n, d]): [string, number[]] => [n, n === name ? dims : d]);
  await refused(modelFile('llama', swap('blk.0.attn_q.weight', [HIDDEN, 4])), /tensor 'blk\.0\.attn_q\.weight' has shape \[8, 4\], but its GGUF metadata implies \[8, 8\]/);
  // [out, in] stored as HF lists it (not reversed): the bytes would be read transposed.
  await refused(modelFile('llama', swap('blk.0.ffn_down.weight', [HIDDEN, FFN])), /tensor 'blk\.0\.ffn_down\.weight' has shape \[8, 16\], but its GGUF metadata implies \[16, 8\]/);
  await refused(modelFile('llama', LLAMA_TENSORS.filter(([n]) => n !== 'blk.0.ffn_up.weight')), /tensor 'blk\.0\.ffn_up\.weight' is missing \(the 2-D weight \[8, 16\]/);
});

test('an unsupported GGUF architecture: exit 2 and one importance-lens: line naming it', () => {
  const dir = tempDir();
  const path = writeTemp(dir, 'phi2.gguf', modelFile('phi2'));
  const text = writeTemp(dir, 'text.txt', 'Once upon a time');
  for (const args of [['perplexity', path, '--text-file', text], ['layers', path, '--metric', 'block-influence', '--text-file', text], ['plan', path, '--drop-layers', '1']]) {
    const result = spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args], { encoding: 'utf8' });
    assert.equal(result.status, 2, `${args[0]}: ${result.stderr}`);
    assert.match(result.stderr, /^importance-lens: .*GGUF architecture "phi2" cannot be run as a model in this version \(supported: llama, qwen2, qwen3, gemma, gemma2, gemma3, phi3, qwen2moe, qwen3moe\)/);
    assert.equal(result.stderr.trim().split('\n').length, 1);
  }
  // Still a checkpoint to inspect.
  assert.equal(spawnSync(process.execPath, [join(DIST, 'cli.js'), 'inspect', path, '--json'], { encoding: 'utf8' }).status, 0);
});
