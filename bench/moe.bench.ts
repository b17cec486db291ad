// npm run bench:moe: what running each routed expert on only its rows buys on an MoE block (docs/engine.md, "The
// MoE families"). A synthetic Mixtral-layout checkpoint (seeded random F32 weights, 2 blocks) is run by the engine
// as configured (top-k of E experts) and with num_experts_per_tok = E, which is the work of computing every expert
// densely for every token; the plain-torch reference (test/fixtures/models/moe_reference.py, transformers' eager
// routing loop) runs the top-k model in the same run. Also the weights the engine holds against one block's
// attention weights plus two experts. Ratios and figures only; nothing here is asserted in `npm test`.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drain } from '../src/analyses';
import { expertImportance } from '../src/analyses/experts';
import { LanguageModel } from '../src/compute/languageModel';
import { encodeSafetensors, normalF32, seededRandom, type TensorSpec } from '../test/fixtures/safetensorsWriter';
import { ROOT } from '../test/unit/helpers';

const SHAPE = { hidden: 512, heads: 8, kvHeads: 4, experts: 32, topK: 2, intermediate: 512, layers: 2, vocab: 1024 };

export function writeModel(dir: string, topK: number): void {
  const { hidden, heads, kvHeads, experts, intermediate, layers, vocab } = SHAPE;
  const random = seededRandom(11);
  const headDim = hidden / heads;
  const t = (name: string, shape: number[], std = 0.05): TensorSpec => ({ name, dtype: 'F32', shape, data: normalF32(shape.reduce((a, b) => a * b, 1), std, random) });
  const tensors = [t('model.embed_tokens.weight', [vocab, hidden], 0.2)];
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}.`;
    tensors.push(t(`${p}input_layernorm.weight`, [hidden], 1), t(`${p}post_attention_layernorm.weight`, [hidden], 1));
    tensors.push(t(`${p}self_attn.q_proj.weight`, [heads * headDim, hidden]), t(`${p}self_attn.k_proj.weight`, [kvHeads * headDim, hidden]));
    tensors.push(t(`${p}self_attn.v_proj.weight`, [kvHeads * headDim, hidden]), t(`${p}self_attn.o_proj.weight`, [hidden, heads * headDim]));
    tensors.push(t(`${p}block_sparse_moe.gate.weight`, [experts, hidden], 0.5));
    for (let e = 0; e < experts; e++) {
      const q = `${p}block_sparse_moe.experts.${e}.`;
      tensors.push(t(`${q}w1.weight`, [intermediate, hidden]), t(`${q}w2.weight`, [hidden, intermediate]), t(`${q}w3.weight`, [intermediate, hidden]));
    }
  }
  tensors.push(t('model.norm.weight', [hidden], 1), t('lm_head.weight', [vocab, hidden], 0.2));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(tensors, { format: 'pt' }));
  // The sample model's tokenizer (1024 ids, the vocabulary here), for the analyses that read a text.
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(ROOT, 'samples', 'tiny-llama-kjv', f), join(dir, f));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    model_type: 'mixtral', hidden_size: hidden, intermediate_size: intermediate, num_hidden_layers: layers, num_attention_heads: heads,
    num_key_value_heads: kvHeads, num_local_experts: experts, num_experts_per_tok: topK, vocab_size: vocab, max_position_embeddings: 4096,
  }));
}

async function best(runs: number, run: () => Promise<unknown>): Promise<number> {
  let fastest = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await run();
    fastest = Math.min(fastest, (performance.now() - start) / 1000);
  }
  return fastest;
}

export async function moeBench(tokens = 256): Promise<string[]> {
  const root = mkdtempSync(join(tmpdir(), 'il-moe-bench-'));
  try {
    const routed = join(root, 'routed');
    const dense = join(root, 'dense');
    writeModel(routed, SHAPE.topK);
    writeModel(dense, SHAPE.experts);
    const ids = Array.from({ length: tokens }, (_, i) => (i * 7919) % SHAPE.vocab);
    const time = async (dir: string) => {
      const model = await LanguageModel.open(dir, ['cpu']);
      try {
        await model.forward([ids], { logits: false });
        const seconds = await best(3, () => model.forward([ids], { logits: false }));
        return { seconds, held: model.engine.bytesHeld.blocks, attention: model.engine.blockBytes, expert: model.engine.moe!.mlpBytes };
      } finally {
        await model.release();
      }
    };
    const ours = await time(routed);
    const all = await time(dense);
    const text = readFileSync(join(ROOT, 'samples', 'text', 'john-1.txt'), 'utf8');
    const analysis = await best(1, () => drain(expertImportance({ model: routed, text: { text }, maxTokens: tokens, providers: ['cpu'] })));
    const idsFile = join(root, 'ids.json');
    writeFileSync(idsFile, JSON.stringify(ids));
    const torch = JSON.parse(execFileSync('/usr/bin/python3', [join(ROOT, 'bench', 'torch_moe.py'), routed, idsFile], { encoding: 'utf8' })) as { seconds: number };
    const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
    const { hidden, experts, topK, intermediate, layers } = SHAPE;
    return [
      `MoE forward, ${tokens} tokens, ${layers} blocks of ${experts} experts (hidden ${hidden}, expert width ${intermediate}), top-${topK}: ` +
        `${ours.seconds.toFixed(3)} s routed; every expert on every token ${all.seconds.toFixed(3)} s (${(all.seconds / ours.seconds).toFixed(1)}× slower); ` +
        `torch eager routing ${torch.seconds.toFixed(3)} s (ratio ${(torch.seconds / ours.seconds).toFixed(2)}×)`,
      `experts analysis (every expert of every block dropped in turn, Δ NLL), ${tokens} tokens: ${analysis.toFixed(2)} s = ${(analysis / ours.seconds).toFixed(1)} routed forwards for ${layers * experts} drops`,
      `MoE weights held: ${mb(ours.held)} (attention weights ${mb(ours.attention)} × 2 read-ahead + expert buffers; one expert ${mb(ours.expert)}) vs ${mb(readFileSync(join(routed, 'model.safetensors')).length / layers)} per block on disk`,
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) void moeBench(Number(process.argv[2] ?? 256)).then((lines) => lines.forEach((l) => console.log(l)));
