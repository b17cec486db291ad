// The block-streaming engine's own promises, beyond matching torch (forward.test.ts): memory that does not grow
// with the number of blocks, a refusal naming the need and what is free, ablation from shared block sweeps equal
// to skipping one block per full pass, cancel between blocks, progress per block, a checkpoint over the old cap.
import assert from 'node:assert/strict';
import { copyFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { nextTokenTargets } from '../../src/analyses/logits';
import { perplexity } from '../../src/analyses/perplexity';
import { tokenizeText } from '../../src/analyses/textInput';
import { ablationNll } from '../../src/compute/engine/ablation';
import { LanguageModel } from '../../src/compute/languageModel';
import { seededRandom } from '../../src/compute/random';
import { CancelledError, InputError } from '../../src/errors';
import { ROOT, tempDir } from './helpers';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'models');
const IDS = [5, 77, 300, 12, 999, 42, 42, 7, 512, 3, 88, 640];

/** A random Llama-family model directory: hidden 32, 4 heads / 2 KV heads, MLP 64, vocab 1024, F32. */
function randomLlama(layers: number, seed = 7): string {
  const dir = tempDir();
  const [hidden, heads, kv, dim, inter, vocab] = [32, 4, 2, 8, 64, 1024];
  const tensors: [string, number[]][] = [['model.embed_tokens.weight', [vocab, hidden]], ['model.norm.weight', [hidden]]];
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}.`;
    tensors.push([`${p}input_layernorm.weight`, [hidden]], [`${p}self_attn.q_proj.weight`, [heads * dim, hidden]], [`${p}self_attn.k_proj.weight`, [kv * dim, hidden]],
      [`${p}self_attn.v_proj.weight`, [kv * dim, hidden]], [`${p}self_attn.o_proj.weight`, [hidden, heads * dim]], [`${p}post_attention_layernorm.weight`, [hidden]],
      [`${p}mlp.gate_proj.weight`, [inter, hidden]], [`${p}mlp.up_proj.weight`, [inter, hidden]], [`${p}mlp.down_proj.weight`, [hidden, inter]]);
  }
  const random = seededRandom(seed);
  const header: Record<string, unknown> = {};
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, shape] of tensors) {
    const count = shape.reduce((a, b) => a * b, 1);
    const values = Float32Array.from({ length: count }, () => (name.endsWith('norm.weight') ? 1 : (random() - 0.5) * 0.6));
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + count * 4] };
    chunks.push(Buffer.from(values.buffer));
    offset += count * 4;
  }
  const json = Buffer.from(JSON.stringify(header).padEnd(Math.ceil(JSON.stringify(header).length / 8) * 8, ' '));
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([size, json, ...chunks]));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    model_type: 'llama', hidden_size: hidden, num_hidden_layers: layers, num_attention_heads: heads, num_key_value_heads: kv,
    intermediate_size: inter, vocab_size: vocab, max_position_embeddings: 64, tie_word_embeddings: true,
  }));
  copyFileSync(join(FIXTURES, 'tiny-qwen2', 'tokenizer.json'), join(dir, 'tokenizer.json'));
  return dir;
}

async function withBudget<T>(bytes: number, run: () => Promise<T>): Promise<T> {
  const before = process.env.IMPORTANCE_LENS_MEMORY_BUDGET;
  process.env.IMPORTANCE_LENS_MEMORY_BUDGET = String(bytes);
  try {
    return await run();
  } finally {
    if (before === undefined) delete process.env.IMPORTANCE_LENS_MEMORY_BUDGET;
    else process.env.IMPORTANCE_LENS_MEMORY_BUDGET = before;
  }
}

test('the weights held do not grow with the number of blocks: 4 and 16 blocks of one shape hold the same bytes', async () => {
  const held = [];
  for (const layers of [4, 16]) {
    const model = await LanguageModel.open(randomLlama(layers), ['cpu']);
    try {
      const out = await model.forward([IDS], { targets: [nextTokenTargets(IDS)], logits: false, hidden: false });
      assert.equal(out.logits.length, 0, 'no [tokens, vocab] logits when not asked for');
      assert.ok(out.logProbs!.slice(0, -1).every((p) => Number.isFinite(p) && p < 0));
      held.push({ ...model.engine.bytesHeld, block: model.engine.blockBytes });
    } finally {
      await model.release();
    }
  }
  assert.deepEqual(held[0], held[1]);
  assert.equal(held[0]!.blocks, 2 * held[0]!.block, 'two blocks of float32 weights: the one running and the one read ahead');
});

test('a checkpoint over the old 1.5 GB float32 cap runs: 400 000 × 1024 BF16 embedding and head (1.6 GB as float32)', async () => {
  // All-zero weights in a sparse file (no disk used): every logit is 0, so log p = −ln(vocab) exactly.
  const dir = tempDir();
  const [hidden, vocab, inter] = [1024, 400_000, 64];
  const shapes: [string, number[]][] = [['model.embed_tokens.weight', [vocab, hidden]], ['model.norm.weight', [hidden]],
    ...['q', 'k', 'v', 'o'].map((p): [string, number[]] => [`model.layers.0.self_attn.${p}_proj.weight`, [hidden, hidden]]),
    ['model.layers.0.input_layernorm.weight', [hidden]], ['model.layers.0.post_attention_layernorm.weight', [hidden]],
    ['model.layers.0.mlp.gate_proj.weight', [inter, hidden]], ['model.layers.0.mlp.up_proj.weight', [inter, hidden]], ['model.layers.0.mlp.down_proj.weight', [hidden, inter]]];
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape] of shapes) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = JSON.stringify(header);
  const padded = Buffer.from(json.padEnd(Math.ceil(json.length / 8) * 8, ' '));
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(padded.length));
  const file = join(dir, 'model.safetensors');
  writeFileSync(file, Buffer.concat([size, padded]));
  truncateSync(file, 8 + padded.length + offset);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'llama', hidden_size: hidden, num_hidden_layers: 1, num_attention_heads: 8, intermediate_size: inter, vocab_size: vocab, tie_word_embeddings: true }));
  const model = await LanguageModel.open(dir, ['cpu']);
  try {
    assert.ok(vocab * hidden * 4 > 1.5 * 2 ** 30);
    const ids = [1, 399_999, 123_456, 7];
    const out = await model.forward([ids], { targets: [nextTokenTargets(ids)], logits: false });
    for (let t = 0; t < 3; t++) assert.ok(Math.abs(out.logProbs![t]! + Math.log(vocab)) < 1e-6, `${out.logProbs![t]}`);
    assert.ok(model.engine.bytesHeld.head < 2 * 64 * 2 ** 20 + 1, 'the head is held one chunk at a time');
  } finally {
    await model.release();
  }
});

test('a job that does not fit is refused with the memory it needs and the memory free', async () => {
  const dir = randomLlama(2);
  await withBudget(1000, () => assert.rejects(LanguageModel.open(dir, ['cpu']), (e: unknown) => e instanceof InputError && /needs about .* GB of memory \(two blocks of float32 weights .*\), but only 0\.00 GB is free/.test(e.message)));
  const model = await LanguageModel.open(dir, ['cpu']);
  try {
    const need = Object.values(model.engine.needs(1, IDS.length, 2)).reduce((a, b) => a + b, 0);
    await withBudget(need - 1, () => assert.rejects(model.forward([IDS]), (e: unknown) => e instanceof InputError && /activations/.test(e.message)));
    await withBudget(need + 1e6, async () => assert.equal((await model.forward([IDS], { logits: false })).batch, 1));
  } finally {
    await model.release();
  }
});

for (const name of ['tiny-gpt2', 'tiny-qwen2-bf16']) {
  test(`${name}: ablation from shared block sweeps equals skipping the block in a full pass, in one sweep or several`, async () => {
    const model = await LanguageModel.open(join(FIXTURES, name), ['cpu']);
    try {
      const targets = [nextTokenTargets(IDS)];
      const gated: number[] = [];
      for (let l = 0; l < model.layers; l++) {
        const out = await model.forward([IDS], { skip: l, targets, logits: false });
        gated.push(-out.logProbs!.slice(0, -1).reduce((a, b) => a + b, 0));
      }
      for (const group of [undefined, 1]) {
        const swept = await ablationNll(model.engine, IDS, group ? { group } : {});
        swept.forEach((nll, l) => assert.ok(Math.abs(nll - gated[l]!) <= 1e-5 * Math.abs(gated[l]!), `block ${l}: ${nll} vs ${gated[l]}`));
      }
    } finally {
      await model.release();
    }
  });
}

test('cancel stops a pass between blocks', async () => {
  const model = await LanguageModel.open(randomLlama(16), ['cpu']);
  try {
    const controller = new AbortController();
    let blocks = 0;
    await assert.rejects(model.forward([IDS], { signal: controller.signal, onBlock: () => ++blocks === 3 && controller.abort() }), CancelledError);
    assert.equal(blocks, 3);
  } finally {
    await model.release();
  }
});

test('analyses report progress per block and name the device of each part', async () => {
  const messages: string[] = [];
  const result = await drain(perplexity({ model: join(FIXTURES, 'tiny-qwen2'), text: { text: 'The LORD is my shepherd; I shall not want.' }, providers: ['cpu'] }), (p) => messages.push(p.message));
  assert.ok(messages.some((m) => /^Window 1\/1: block 2 \/ 2, \d+\.\d s$/.test(m)), messages.join('\n'));
  assert.ok(messages.some((m) => /: head 1 \/ 1, \d+\.\d s$/.test(m)));
  assert.deepEqual(result.devices, { blocks: 'cpu', head: 'cpu' });
});

test('windows of equal length run as one batch and give what one window at a time gives', async () => {
  const model = join(FIXTURES, 'tiny-gpt2');
  const text = { file: join(ROOT, 'samples', 'text', 'john-1.txt') };
  const messages: string[] = [];
  const batched = await drain(perplexity({ model, text, maxTokens: 300, providers: ['cpu'] }), (p) => messages.push(p.message));
  assert.equal(batched.windows, 3);
  assert.ok(messages.some((m) => m.startsWith('Windows 1–2/3')), 'the two 128-token windows share a pass');
  const lm = await LanguageModel.open(model, ['cpu']);
  try {
    const tokens = await tokenizeText(lm, text, 300);
    let nll = 0;
    let predicted = 0;
    for (const window of tokens.windows) {
      const ids = window.map((s) => s.id);
      const out = await lm.forward([ids], { targets: [nextTokenTargets(ids)], logits: false });
      for (let t = 0; t + 1 < ids.length; t++) nll -= out.logProbs![t]!;
      predicted += ids.length - 1;
    }
    assert.equal(batched.predicted, predicted);
    assert.ok(Math.abs(batched.nll - nll / predicted) <= 1e-6 * Math.abs(batched.nll), `${batched.nll} vs ${nll / predicted}`);
  } finally {
    await lm.release();
  }
});
