// Mixture-of-experts GGUF files as models (src/arch/ggufModels.ts rows llama with expert_count, qwen2moe, qwen3moe;
// experts read one at a time as slices of llama.cpp's stacked tensors, engine/weightReader.ts): the MoE fixtures
// converted as convert_hf_to_gguf.py converts them (make_gguf_fixtures.py: experts stacked per block and projection
// into [n_expert, out, in], Mixtral's q/k rows permuted, routers kept F32) must give the numbers of the same model as
// safetensors — spec, parameter counts, logits, perplexity, Block Influence, each expert's routing share and drop
// score — in the API and through the CLI; Q8_0 against torch on the dequantised GGUF (gguf-golden.json,
// make_gguf_golden.py). What the keys cannot say is refused by name, on synthetic metadata. No python at test time.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drain } from '../../src/analyses';
import { activationLayers } from '../../src/analyses/activationLayers';
import { expertImportance } from '../../src/analyses/experts';
import { inspect } from '../../src/analyses/inspect';
import { perplexity } from '../../src/analyses/perplexity';
import { saliency } from '../../src/analyses/saliency';
import { ggufExpertSlice, ggufModel } from '../../src/arch/ggufModels';
import { openModelSource } from '../../src/compute/engine/modelSource';
import { newScratch, WeightReader } from '../../src/compute/engine/weightReader';
import { LanguageModel } from '../../src/compute/languageModel';
import { deriveFacts } from '../../src/config/derived';
import { FileHandles, readWholeTensor } from '../../src/compute/tensorStream';
import { InputError } from '../../src/errors';
import type { GgufValue } from '../../src/formats/gguf';
import { DIST, ROOT, tempDir } from './helpers';
import { moeGolden } from './moeGolden';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'models');
const CPU = ['cpu'];
const TEXT = moeGolden.text.text;
/** Float32 metadata (the RMS epsilon) against config.json's double, and nothing else differs. */
const F32_TOLERANCE = 1e-4;

interface GoldenExpert { index: number; share: number; meanGate: number | null; score: number }
interface GoldenGguf { ids: number[]; logit_positions: number[]; logits: number[][]; nll: number; block_influence: number[]; experts: { index: number; experts: GoldenExpert[] }[] }
const golden = (JSON.parse(readFileSync(join(FIXTURES, 'gguf-golden.json'), 'utf8')) as { converted: Record<string, GoldenGguf> }).converted;

/** Source fixture -> the GGUF architecture it converts to. */
const MOE_GGUF = [['moe-mixtral', 'llama'], ['moe-qwen2', 'qwen2moe'], ['moe-qwen3', 'qwen3moe']] as const;

for (const [source, architecture] of MOE_GGUF) {
  test(`${source} as GGUF (${architecture}): F32 gives the safetensors model's spec, logits, perplexity, Block Influence and experts`, async () => {
    const directory = join(FIXTURES, source);
    const f32 = join(FIXTURES, 'gguf', `${source}.f32.gguf`);
    const ids = moeGolden.models[source]!.ids;
    const run = async (path: string) => {
      const model = await LanguageModel.open(path, CPU);
      try {
        return { spec: model.spec, params: model.blockParameters, logits: (await model.forward([ids])).logits };
      } finally {
        await model.release();
      }
    };
    const [hf, gguf] = [await run(directory), await run(f32)];
    assert.deepEqual({ ...gguf.spec, rmsEps: 0 }, { ...hf.spec, rmsEps: 0 }, 'the spec from the GGUF metadata is config.json\'s');
    assert.deepEqual(gguf.params, hf.params);
    assert.deepEqual(gguf.logits, hf.logits, 'F32 GGUF logits equal the safetensors model\'s bit for bit (the same float32 weights, expert slices included)');

    const on = (model: string) => ({ model, text: { text: TEXT }, maxTokens: ids.length, providers: CPU });
    const [pHf, pGguf] = [await drain(perplexity(on(directory))), await drain(perplexity(on(f32)))];
    assert.equal(pGguf.tokens, pHf.tokens, 'the GGUF\'s own vocabulary tokenizes as tokenizer.json');
    assert.ok(Math.abs(pGguf.nll - pHf.nll) <= F32_TOLERANCE * pHf.nll, `nll ${pGguf.nll} vs ${pHf.nll}`);
    const [bHf, bGguf] = [await drain(activationLayers({ ...on(directory), metric: 'block-influence' })), await drain(activationLayers({ ...on(f32), metric: 'block-influence' }))];
    bGguf.layers.forEach((l, i) => assert.ok(Math.abs(l.score - bHf.layers[i]!.score) <= F32_TOLERANCE, `block influence ${l.index}: ${l.score} vs ${bHf.layers[i]!.score}`));
    const [eHf, eGguf] = [await drain(expertImportance(on(directory))), await drain(expertImportance(on(f32)))];
    assert.deepEqual(eGguf.denseBlocks, eHf.denseBlocks);
    assert.deepEqual(eGguf.blocks.map((b) => b.experts.map((e) => e.share)), eHf.blocks.map((b) => b.experts.map((e) => e.share)), 'the same routing shares');
    eGguf.blocks.forEach((b, i) => b.experts.forEach((e, j) => assert.ok(Math.abs(e.score - eHf.blocks[i]!.experts[j]!.score) <= F32_TOLERANCE, `block ${b.index} expert ${j}: ${e.score}`)));
  });
}

for (const [source] of MOE_GGUF) {
  for (const type of ['f32', 'q8_0']) {
    const file = `${source}.${type}.gguf`;
    test(`${file}: logits, NLL, Block Influence and each expert's share and drop score match torch on the dequantised GGUF`, async () => {
      const g = golden[file]!;
      const path = join(FIXTURES, 'gguf', file);
      const model = await LanguageModel.open(path, CPU);
      let worstLogit = 0;
      try {
        const { logits } = await model.forward([g.ids]);
        g.logit_positions.forEach((t, r) => g.logits[r]!.forEach((x, v) => (worstLogit = Math.max(worstLogit, Math.abs(logits[t * model.vocab + v]! - x)))));
      } finally {
        await model.release();
      }
      assert.ok(worstLogit <= 1e-3, `logits differ from torch by up to ${worstLogit} (golden: 6 significant digits)`);
      const on = { model: path, text: { text: TEXT }, maxTokens: g.ids.length, providers: CPU };
      const ppl = await drain(perplexity(on));
      assert.ok(Math.abs(ppl.nll - g.nll) <= 1e-4 * g.nll, `nll ${ppl.nll} vs torch ${g.nll}`);
      (await drain(activationLayers({ ...on, metric: 'block-influence' }))).layers.forEach((l) => assert.ok(Math.abs(l.score - g.block_influence[l.index]!) <= 1e-4, `block influence ${l.index}: ${l.score} vs torch ${g.block_influence[l.index]}`));
      const experts = await drain(expertImportance(on));
      assert.deepEqual(experts.blocks.map((b) => b.index), g.experts.map((b) => b.index));
      experts.blocks.forEach((b, i) => b.experts.forEach((e, j) => {
        const want = g.experts[i]!.experts[j]!;
        assert.ok(Math.abs(e.share - want.share) < 1e-12, `block ${b.index} expert ${j} share ${e.share} vs ${want.share}`);
        assert.ok(Math.abs(e.score - want.score) <= 1e-4, `block ${b.index} expert ${j} score ${e.score} vs ${want.score}`);
      }));
    });
  }
}

test('inspect on an MoE GGUF: experts from its metadata, and the parameters a token uses as the config hover counts them', async () => {
  for (const [source, architecture] of MOE_GGUF) {
    for (const type of ['f32', 'q8_0']) {
      const result = await drain(inspect({ path: join(FIXTURES, 'gguf', `${source}.${type}.gguf`) }));
      const config = JSON.parse(readFileSync(join(FIXTURES, source, 'config.json'), 'utf8')) as Record<string, unknown>;
      const count = deriveFacts(config).parameters;
      assert.ok(count && typeof count === 'object', `${source}: the config hover counts parameters`);
      assert.deepEqual([result.architecture.family, result.architecture.experts], [architecture, 4]);
      assert.equal(result.parameters, count.total, `${source} ${type}: all parameters`);
      // moeBlockParameters (the engine's own count, dense blocks included) against the file's stacked tensors.
      assert.equal(result.activeParameters, count.activePerToken, `${source} ${type}: active per token`);
    }
  }
  const dense = await drain(inspect({ path: join(FIXTURES, 'gguf', 'tiny-qwen2.f32.gguf') }));
  assert.equal(dense.activeParameters, undefined, 'a dense file has no active count');
});

test('gradient saliency through the experts (the MoE runner\'s backward on expert slices) on the Mixtral F32 GGUF equals the safetensors model\'s', async () => {
  const text = 'The LORD is my shepherd; I shall not want.';
  const run = (model: string) => drain(saliency({ model, text: { text }, method: 'grad', seeds: 1, providers: CPU }));
  const [hf, gguf] = [await run(join(FIXTURES, 'moe-mixtral')), await run(join(FIXTURES, 'gguf', 'moe-mixtral.f32.gguf'))];
  assert.deepEqual(gguf.tokens.map((t) => t.text), hf.tokens.map((t) => t.text));
  gguf.tokens.forEach((t, i) => assert.ok(Math.abs(t.score - hf.tokens[i]!.score) <= F32_TOLERANCE * Math.max(1, Math.abs(hf.tokens[i]!.score)), `token ${i}: ${t.score} vs ${hf.tokens[i]!.score}`));
});

function cli(...args: string[]): unknown {
  const result = spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args, '--json'], { encoding: 'utf8', env: { ...process.env, IMPORTANCE_LENS_PROVIDERS: 'cpu' } });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout);
}

test('CLI on the Qwen2-MoE GGUF: layers --metric block-influence and experts --json equal the safetensors model\'s', () => {
  const textFile = join(tempDir(), 'text.txt');
  writeFileSync(textFile, TEXT);
  const [directory, gguf] = [join(FIXTURES, 'moe-qwen2'), join(FIXTURES, 'gguf', 'moe-qwen2.f32.gguf')];
  type Layers = { metric: string; layers: { index: number; score: number; rank: number }[] };
  const [lHf, lGguf] = [cli('layers', directory, '--metric', 'block-influence', '--text-file', textFile) as Layers, cli('layers', gguf, '--metric', 'block-influence', '--text-file', textFile) as Layers];
  assert.equal(lGguf.metric, 'block-influence');
  assert.deepEqual(lGguf.layers.map((l) => l.rank), lHf.layers.map((l) => l.rank));
  lGguf.layers.forEach((l, i) => assert.ok(Math.abs(l.score - lHf.layers[i]!.score) <= F32_TOLERANCE));
  type Experts = { denseBlocks: number[]; blocks: { index: number; experts: { index: number; share: number; score: number; rank: number }[] }[] };
  const [eHf, eGguf] = [cli('experts', directory, '--text-file', textFile) as Experts, cli('experts', gguf, '--text-file', textFile) as Experts];
  assert.deepEqual(eGguf.denseBlocks, [1], 'block 1 has no router in the file: a dense MLP');
  assert.deepEqual(eGguf.blocks.map((b) => b.experts.map((e) => [e.index, e.share, e.rank])), eHf.blocks.map((b) => b.experts.map((e) => [e.index, e.share, e.rank])));
});

test('an expert of a Q8_0 stack is read as its own byte range: 1/n of the stack, decoding to that slice of the whole', async () => {
  const path = join(FIXTURES, 'gguf', 'moe-qwen3.q8_0.gguf');
  const source = await openModelSource(path);
  const reader = new WeightReader(source.header, path, source.view);
  const handles = new FileHandles();
  try {
    const stack = source.header.tensors.find((t) => t.name === 'blk.1.ffn_up_exps.weight')!;
    assert.deepEqual([stack.dtype, stack.shape], ['Q8_0', [64, 48, 4]], 'GGUF dims [in, out, n_expert]: up_proj [48, 64] per expert');
    const whole = await readWholeTensor(stack, handles);
    for (let e = 0; e < 4; e++) {
      const slice = reader.tensor(`model.layers.1.mlp.experts.${e}.up_proj.weight`, [48, 64]);
      assert.deepEqual([slice.byteOffset, slice.byteLength, slice.count], [stack.byteOffset + (e * stack.byteLength) / 4, stack.byteLength / 4, 48 * 64]);
      const out = new Float32Array(slice.count);
      await reader.read([slice], [out], newScratch());
      assert.deepEqual(out, whole.subarray(e * slice.count, (e + 1) * slice.count), `expert ${e}`);
    }
    assert.equal(reader.has('model.layers.1.mlp.experts.3.up_proj.weight'), true);
    assert.equal(reader.has('model.layers.1.mlp.experts.4.up_proj.weight'), false, 'there are 4 experts');
    assert.throws(() => reader.tensor('model.layers.1.mlp.experts.4.up_proj.weight', [48, 64]), /'blk\.1\.ffn_up_exps\.weight' stacks 4 experts, but its GGUF metadata asks for expert 4/);
    assert.throws(() => reader.tensor('model.layers.1.mlp.experts.0.up_proj.weight', [40, 64]), /'blk\.1\.ffn_up_exps\.weight' has shape \[64, 48, 4\], but its GGUF metadata implies \[64, 40, experts\]/);
    // Rows of 48 are not whole Q8_0 blocks of 32: the fixture keeps that down_proj stack F32 (make_gguf_fixtures.py).
    assert.equal(source.header.tensors.find((t) => t.name === 'blk.1.ffn_down_exps.weight')!.dtype, 'F32');
  } finally {
    await handles.close();
    await reader.close();
  }
});

test('Qwen2-MoE\'s shared-expert gate, HF [1, hidden], stored 1-D as llama.cpp\'s files hold it: ggml\'s trailing 1s make no difference', async () => {
  const path = join(FIXTURES, 'gguf', 'moe-qwen2.f32.gguf');
  const source = await openModelSource(path);
  const reader = new WeightReader(source.header, path, source.view);
  try {
    assert.deepEqual(source.header.tensors.find((t) => t.name === 'blk.0.ffn_gate_inp_shexp.weight')!.shape, [64]);
    assert.equal(reader.tensor('model.layers.0.mlp.shared_expert_gate.weight', [1, 64]).count, 64);
    assert.throws(() => reader.tensor('model.layers.0.mlp.shared_expert_gate.weight', [2, 64]), /'blk\.0\.ffn_gate_inp_shexp\.weight' has shape \[64\], but its GGUF metadata implies \[64, 2\]/);
  } finally {
    await reader.close();
  }
});

test('llama.cpp\'s stacked expert tensors: expert e of block l is slice e of blk.l.ffn_{gate,up,down}_exps', () => {
  assert.deepEqual(ggufExpertSlice('model.layers.3.block_sparse_moe.experts.7.w1.weight'), { name: 'blk.3.ffn_gate_exps.weight', index: 7 });
  assert.deepEqual(ggufExpertSlice('model.layers.3.block_sparse_moe.experts.7.w3.weight'), { name: 'blk.3.ffn_up_exps.weight', index: 7 });
  assert.deepEqual(ggufExpertSlice('model.layers.0.mlp.experts.63.down_proj.weight'), { name: 'blk.0.ffn_down_exps.weight', index: 63 });
  assert.equal(ggufExpertSlice('model.layers.0.mlp.shared_expert.down_proj.weight'), undefined);
  assert.equal(ggufExpertSlice('model.layers.0.mlp.experts.1.constructor.weight'), undefined);
});

test('MoE GGUF metadata: what llama.cpp fixes is read as it fixes it, what the keys cannot say is refused by name', () => {
  const scalar = (value: string | number, type: 'string' | 'uint32' | 'float32' = typeof value === 'string' ? 'string' : 'uint32'): GgufValue => ({ kind: 'scalar', type, value });
  const base = (arch: string, extra: [string, GgufValue][] = []): Map<string, GgufValue> => new Map([
    ['general.architecture', scalar(arch)], [`${arch}.block_count`, scalar(2)], [`${arch}.embedding_length`, scalar(64)],
    [`${arch}.attention.head_count`, scalar(4)], [`${arch}.feed_forward_length`, scalar(128)], [`${arch}.context_length`, scalar(64)],
    [`${arch}.attention.layer_norm_rms_epsilon`, scalar(1e-5, 'float32')], [`${arch}.expert_count`, scalar(8)], [`${arch}.expert_used_count`, scalar(2)], ...extra,
  ]);
  const routers = (layers: number[]) => new Map<string, number[]>([['token_embd.weight', [64, 100]], ...layers.map((l): [string, number[]] => [`blk.${l}.ffn_gate_inp.weight`, [64, 8]])]);
  const open = (values: Map<string, GgufValue>, shapes = routers([0, 1])) => ggufModel(values, (n) => shapes.get(n), 'm.gguf').spec;
  const refuse = (values: Map<string, GgufValue>, pattern: RegExp, shapes = routers([0, 1])) =>
    assert.throws(() => open(values, shapes), (e: unknown) => e instanceof InputError && pattern.test(e.message), pattern.source);

  const mixtral = open(base('llama'));
  assert.ok(mixtral.kind === 'moe');
  assert.deepEqual([mixtral.modelType, mixtral.experts, mixtral.topK, mixtral.expertIntermediate, mixtral.normTopK], ['mixtral', 8, 2, 128, true]);
  // qwen2moe: llm_build_qwen2moe does not renormalise the top-k weights; the widths fall back as llama-model.cpp's do.
  const qwen2 = open(base('qwen2moe'));
  assert.ok(qwen2.kind === 'moe');
  assert.deepEqual([qwen2.modelType, qwen2.normTopK, qwen2.expertIntermediate, qwen2.sharedIntermediate, qwen2.qkvBias], ['qwen2_moe', false, 64, 128, true]);
  const qwen2Sized = open(base('qwen2moe', [['qwen2moe.expert_feed_forward_length', scalar(32)], ['qwen2moe.expert_shared_feed_forward_length', scalar(96)]]));
  assert.ok(qwen2Sized.kind === 'moe');
  assert.deepEqual([qwen2Sized.expertIntermediate, qwen2Sized.sharedIntermediate], [32, 96]);
  const qwen3 = open(base('qwen3moe'), routers([1]));
  assert.ok(qwen3.kind === 'moe');
  assert.deepEqual([qwen3.modelType, qwen3.normTopK, qwen3.qkNorm, qwen3.sparse], ['qwen3_moe', true, true, [false, true]], 'a block without a router is dense');

  refuse(base('llama'), /block 1 has no router \(blk\.1\.ffn_gate_inp\.weight\)/, routers([0]));
  refuse(new Map([...base('qwen3moe')].filter(([k]) => k !== 'qwen3moe.expert_count')), /qwen3moe\.expert_count is missing or 0/);
  refuse(new Map([...base('qwen2moe')].filter(([k]) => k !== 'qwen2moe.expert_used_count')), /qwen2moe\.expert_used_count is missing/);
  refuse(base('qwen2moe', [['qwen2moe.expert_used_count', scalar(9)]]), /num_experts_per_tok 9 exceeds num_experts 8/);
  refuse(base('qwen2', [['qwen2.expert_count', scalar(8)]]), /qwen2\.expert_count is 8: mixture-of-experts qwen2 files cannot be run \(supported: llama, qwen2moe, qwen3moe\)/);
  refuse(base('llama', [['llama.expert_count', scalar(1.5, 'float32')]]), /expert_count is 1\.5, not a count/);
});
