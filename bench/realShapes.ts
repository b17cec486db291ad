// Real-shaped Hugging Face model folders with random BF16 weights, for the real-shape benchmarks of issue #13
// (bench/realShapes.bench.ts) and the torch cross-check (test/unit/realShapes.test.ts). Random weights are enough to
// measure speed and memory: config.json is the real model's, tensor names and shapes are exactly what transformers
// saves, only the values are made up.
//
// Method (fast, never the whole model in memory): one 64 MB buffer of N(0, 1) BF16 values is drawn once from a seeded
// generator and scaled per use (0.02 for embeddings, linear weights and biases; norm weights are all 1.0); each tensor
// is written as slices of that buffer starting at an offset derived from its name, wrapping around. Files are written
// as `.partial` and renamed; config.json is written last, so a folder with a config.json is complete. An existing
// folder is reused when its config.json, its file list and every file's size are what this generator would write.
//
// Usage: node out/bench/realShapes.js SHAPE OUT_DIR [--no-rope-scaling]   (SHAPE: qwen0.5b, llama1b, llama1b-norope, llama7b,
// or tiny-qwen / tiny-llama: 2-block smoke-test shapes)
import { closeSync, copyFileSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export type Config = Record<string, unknown>;

/** Qwen/Qwen2.5-0.5B config.json (transformers 4.40.1 save). */
export function qwen05bConfig(): Config {
  return {
    architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151643, hidden_act: 'silu',
    hidden_size: 896, initializer_range: 0.02, intermediate_size: 4864, max_position_embeddings: 32768, max_window_layers: 24,
    model_type: 'qwen2', num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2, rms_norm_eps: 1e-6,
    rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.40.1',
    use_cache: true, use_sliding_window: false, vocab_size: 151936,
  };
}

/** meta-llama/Llama-3.2-1B config.json; ropeScaling false gives the `--no-rope-scaling` variant (rope_scaling null),
 * which the engine of this version can run (it refuses llama3 rope scaling). */
export function llama1bConfig(ropeScaling = true): Config {
  return {
    architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 128000, eos_token_id: 128001,
    head_dim: 64, hidden_act: 'silu', hidden_size: 2048, initializer_range: 0.02, intermediate_size: 8192, max_position_embeddings: 131072,
    mlp_bias: false, model_type: 'llama', num_attention_heads: 32, num_hidden_layers: 16, num_key_value_heads: 8, pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_scaling: ropeScaling ? { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' } : null,
    rope_theta: 500000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.45.0.dev0', use_cache: true, vocab_size: 128256,
  };
}

/** meta-llama/Llama-2-7b-hf config.json, except torch_dtype: the real weights are float16, these are BF16. */
export function llama7bConfig(): Config {
  return {
    architectures: ['LlamaForCausalLM'], bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu', hidden_size: 4096, initializer_range: 0.02,
    intermediate_size: 11008, max_position_embeddings: 4096, model_type: 'llama', num_attention_heads: 32, num_hidden_layers: 32,
    num_key_value_heads: 32, pretraining_tp: 1, rms_norm_eps: 1e-5, rope_scaling: null, tie_word_embeddings: false, torch_dtype: 'bfloat16',
    transformers_version: '4.31.0.dev0', use_cache: true, vocab_size: 32000,
  };
}

export interface Shape {
  config: Config;
  /** transformers' max_shard_size when the real checkpoint was saved (Llama-2: "10GB"); absent: one model.safetensors. */
  maxShardBytes?: number;
}

export const SHAPES: Record<string, () => Shape> = {
  'qwen0.5b': () => ({ config: qwen05bConfig() }),
  llama1b: () => ({ config: llama1bConfig(true) }),
  'llama1b-norope': () => ({ config: llama1bConfig(false) }),
  llama7b: () => ({ config: llama7bConfig(), maxShardBytes: 10e9 }),
  // Smoke-test shapes for the bench scripts themselves (seconds, not minutes): 2 blocks, hidden 64, the sample vocab.
  'tiny-qwen': () => ({ config: tinyConfig(qwen05bConfig()) }),
  'tiny-llama': () => ({ config: tinyConfig(llama7bConfig()), maxShardBytes: 150_000 }),
};

/** The shape whose weight files are the same as this one's (they differ in config.json only): hard-linked, not rewritten. */
export function weightTwin(name: string): string | undefined {
  return name === 'llama1b' ? 'llama1b-norope' : name === 'llama1b-norope' ? 'llama1b' : undefined;
}

/** A family's config shrunk to 2 blocks of hidden 64 (4 heads; 2 KV heads for qwen2) over a 1 024-token vocab. */
export function tinyConfig(config: Config): Config {
  return { ...config, num_hidden_layers: 2, hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: config.model_type === 'qwen2' ? 2 : 4, vocab_size: 1024 };
}

export interface TensorSpec { name: string; shape: number[]; kind: 'normal' | 'ones' }

/** Tensors in transformers' state_dict order (the order shards are filled in); tied heads have no lm_head.weight. */
export function tensorList(config: Config): TensorSpec[] {
  const n = (key: string) => config[key] as number;
  const hidden = n('hidden_size');
  const heads = n('num_attention_heads');
  const kvHeads = (config.num_key_value_heads as number | undefined) ?? heads;
  const headDim = (config.head_dim as number | undefined) ?? hidden / heads;
  const inter = n('intermediate_size');
  const bias = config.model_type === 'qwen2' || config.attention_bias === true;
  const list: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [n('vocab_size'), hidden], kind: 'normal' }];
  for (let l = 0; l < n('num_hidden_layers'); l++) {
    const p = `model.layers.${l}.`;
    const proj = (name: string, out: number, into: number) => {
      list.push({ name: `${p}self_attn.${name}.weight`, shape: [out, into], kind: 'normal' });
      if (bias && name !== 'o_proj') list.push({ name: `${p}self_attn.${name}.bias`, shape: [out], kind: 'normal' });
    };
    proj('q_proj', heads * headDim, hidden);
    proj('k_proj', kvHeads * headDim, hidden);
    proj('v_proj', kvHeads * headDim, hidden);
    proj('o_proj', hidden, heads * headDim);
    list.push({ name: `${p}mlp.gate_proj.weight`, shape: [inter, hidden], kind: 'normal' });
    list.push({ name: `${p}mlp.up_proj.weight`, shape: [inter, hidden], kind: 'normal' });
    list.push({ name: `${p}mlp.down_proj.weight`, shape: [hidden, inter], kind: 'normal' });
    list.push({ name: `${p}input_layernorm.weight`, shape: [hidden], kind: 'ones' });
    list.push({ name: `${p}post_attention_layernorm.weight`, shape: [hidden], kind: 'ones' });
  }
  list.push({ name: 'model.norm.weight', shape: [hidden], kind: 'ones' });
  if (config.tie_word_embeddings !== true) list.push({ name: 'lm_head.weight', shape: [n('vocab_size'), hidden], kind: 'normal' });
  return list;
}

const bytesOf = (t: TensorSpec) => t.shape.reduce((a, b) => a * b, 1) * 2;

/** Shards as transformers' save_pretrained fills them: tensors in state_dict order, a new shard when the next tensor
 * would take the current one past maxShardBytes. */
export function shardPlan(shape: Shape): { file: string; tensors: TensorSpec[] }[] {
  const tensors = tensorList(shape.config);
  if (shape.maxShardBytes === undefined) return [{ file: 'model.safetensors', tensors }];
  const groups: TensorSpec[][] = [[]];
  let size = 0;
  for (const t of tensors) {
    if (size + bytesOf(t) > shape.maxShardBytes && groups[groups.length - 1]!.length > 0) {
      groups.push([]);
      size = 0;
    }
    groups[groups.length - 1]!.push(t);
    size += bytesOf(t);
  }
  const pad = (i: number) => String(i).padStart(5, '0');
  return groups.map((g, i) => ({ file: `model-${pad(i + 1)}-of-${pad(groups.length)}.safetensors`, tensors: g }));
}

/** The header (as the safetensors library writes it: names sorted, data in that order, padded to 8 bytes). */
function header(tensors: TensorSpec[]): { json: Buffer; sorted: TensorSpec[]; dataBytes: number } {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const entries: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of sorted) {
    entries[t.name] = { dtype: 'BF16', shape: t.shape, data_offsets: [offset, offset + bytesOf(t)] };
    offset += bytesOf(t);
  }
  let text = JSON.stringify(entries);
  text += ' '.repeat((8 - ((8 + Buffer.byteLength(text)) % 8)) % 8);
  return { json: Buffer.from(text), sorted, dataBytes: offset };
}

const POOL_BYTES = 64 * 2 ** 20;
let pool: Buffer | undefined;

/** 32 M BF16 values, N(0, 0.02) (Box–Muller on a seeded xorshift32, rounded to nearest even), drawn once. */
function randomPool(): Buffer {
  if (pool) return pool;
  const values = new Float32Array(POOL_BYTES / 2);
  let s = 0x9e3779b9;
  const next = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  for (let i = 0; i < values.length; i += 2) {
    const r = 0.02 * Math.sqrt(-2 * Math.log(next()));
    const a = 2 * Math.PI * next();
    values[i] = r * Math.cos(a);
    values[i + 1] = r * Math.sin(a);
  }
  const words = new Uint32Array(values.buffer);
  const half = new Uint16Array(values.length);
  for (let i = 0; i < half.length; i++) {
    const w = words[i]!;
    half[i] = (w + 0x7fff + ((w >>> 16) & 1)) >>> 16;
  }
  pool = Buffer.from(half.buffer);
  return pool;
}

/** A stable start offset (even, within the pool) for a tensor's slice, from its name (FNV-1a). */
function startOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return (h % (POOL_BYTES / 2)) * 2;
}

function writeTensor(fd: number, t: TensorSpec): void {
  let left = bytesOf(t);
  if (t.kind === 'ones') {
    const ones = Buffer.alloc(left);
    for (let i = 0; i < left; i += 2) ones.writeUInt16LE(0x3f80, i);
    writeSync(fd, ones);
    return;
  }
  const source = randomPool();
  let at = startOf(t.name);
  while (left > 0) {
    const n = Math.min(left, POOL_BYTES - at);
    writeSync(fd, source, at, n);
    left -= n;
    at = 0;
  }
}

function expectedFiles(shape: Shape): Map<string, number> {
  const files = new Map<string, number>();
  for (const shard of shardPlan(shape)) {
    const h = header(shard.tensors);
    files.set(shard.file, 8 + h.json.length + h.dataBytes);
  }
  return files;
}

/** True when dir already holds exactly what writeModelFolder would write (config.json equal, files and sizes). */
export function isComplete(dir: string, shape: Shape): boolean {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath) || readFileSync(configPath, 'utf8') !== `${JSON.stringify(shape.config, null, 2)}\n`) return false;
  for (const [file, size] of expectedFiles(shape)) {
    const path = join(dir, file);
    if (!existsSync(path) || statSync(path).size !== size) return false;
  }
  return existsSync(join(dir, 'tokenizer.json'));
}

export interface WriteOptions {
  /** tokenizer.json to copy in (default: the sample model's small BPE vocabulary; its ids are < every shape's vocab). */
  tokenizer?: string;
  /** A folder of the same tensors (e.g. the rope-scaling variant) whose weight files are hard-linked instead of written. */
  weightsFrom?: string;
  log?: (line: string) => void;
}

/** Writes (or reuses) a model folder; returns whether it was reused and the bytes of weights. */
export function writeModelFolder(dir: string, shape: Shape, options: WriteOptions = {}): { reused: boolean; bytes: number } {
  const files = expectedFiles(shape);
  const bytes = [...files.values()].reduce((a, b) => a + b, 0);
  if (isComplete(dir, shape)) return { reused: true, bytes };
  mkdirSync(dir, { recursive: true });
  rmSync(join(dir, 'config.json'), { force: true });
  for (const name of readdirSync(dir)) if (name.endsWith('.safetensors') || name.endsWith('.partial')) rmSync(join(dir, name), { force: true });
  const plan = shardPlan(shape);
  for (const shard of plan) {
    const path = join(dir, shard.file);
    const donor = options.weightsFrom && join(options.weightsFrom, shard.file);
    if (donor && existsSync(donor) && statSync(donor).size === files.get(shard.file)) {
      linkSync(donor, path);
      continue;
    }
    options.log?.(`writing ${path} (${(files.get(shard.file)! / 1e9).toFixed(2)} GB)`);
    const h = header(shard.tensors);
    const fd = openSync(`${path}.partial`, 'w');
    try {
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(h.json.length));
      writeSync(fd, length);
      writeSync(fd, h.json);
      for (const t of h.sorted) writeTensor(fd, t);
    } finally {
      closeSync(fd);
    }
    renameSync(`${path}.partial`, path);
  }
  if (plan.length > 1) {
    const weightMap: Record<string, string> = {};
    const all = plan.flatMap((s) => s.tensors.map((t) => [t.name, s.file] as const)).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    for (const [name, file] of all) weightMap[name] = file;
    const totalSize = plan.reduce((sum, s) => sum + s.tensors.reduce((a, t) => a + bytesOf(t), 0), 0);
    writeFileSync(join(dir, 'model.safetensors.index.json'), `${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2)}\n`);
  }
  copyFileSync(options.tokenizer ?? join(__dirname, '..', '..', 'samples', 'tiny-llama-kjv', 'tokenizer.json'), join(dir, 'tokenizer.json'));
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(shape.config, null, 2)}\n`);
  return { reused: false, bytes };
}

if (require.main === module) {
  const [name, out] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const make = name && SHAPES[name];
  if (!make || !out) {
    console.error(`usage: realShapes.js SHAPE OUT_DIR [--no-rope-scaling]   (SHAPE: ${Object.keys(SHAPES).join(', ')})`);
    process.exit(2);
  }
  const shape = make();
  if (process.argv.includes('--no-rope-scaling')) shape.config.rope_scaling = null;
  const start = performance.now();
  const twin = weightTwin(name);
  const { reused, bytes } = writeModelFolder(out, shape, { ...(twin ? { weightsFrom: join(out, '..', twin) } : {}), log: (l) => console.error(l) });
  console.error(`${out}: ${reused ? 'reused' : 'written'}, ${(bytes / 1e9).toFixed(2)} GB in ${((performance.now() - start) / 1000).toFixed(1)} s`);
}
