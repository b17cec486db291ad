#!/usr/bin/python3
"""The torch baseline of the real-shape benchmarks (issue #13; bench/realShapes.bench.ts): a plain float32 forward of
a Hugging Face Llama / Qwen2 folder on Debian's torch, CPU, written out here (no transformers) after transformers'
modeling_llama / modeling_qwen2: RMSNorm, RoPE (plain, or llama3 rope scaling), grouped-query attention with a causal
mask, SwiGLU MLP, q/k/v biases for qwen2, tied or separate head. Weights come from the folder's safetensors (a tiny
reader below: BF16/F16/F32 -> float32, one tensor at a time).

It tokenizes nothing: IDS_JSON is the list of token ids the TypeScript bench got from the project's tokenizer.
  --analysis bi         Block Influence per block on the first --tokens ids: 1 - mean over positions of
                        cos(input of block l, output of block l), before the final norm (docs/analyses.md)
  --analysis ppl        perplexity on the first --tokens ids, one window: exp(mean NLL over positions 1..n-1)
  --analysis ablation   perplexity with each block skipped in turn (its residual updates left out)
  --analysis grad-input / ig   token saliency of the last of the --tokens ids from the ones before it, by torch
                        autograd: Σ embedding × d log p / d embedding per token; integrated gradients from the zero
                        embedding over --steps Gauss–Legendre nodes (one forward + backward per step, as Captum with
                        internal_batch_size 1), values per token and delta = |Σ values − (F(x) − F(0))|
  --analysis wanda      per block, the mean over its linear layers' weights of |W_ij| * ||X_j||_2, X_j input feature j
                        of that layer over the first --tokens ids (src/analyses/wanda.ts)
  --analysis occlusion / attention / reagent   token saliency of the last of the --tokens ids (the target) from the
                        ones before it, as src/analyses/saliency.ts: occlusion = log p(target | context) - log p(target
                        | context without token i), the variants in batches of 64 rows; attention = rollout of the
                        head-averaged attention mixed half with identity, rows renormalised, through the blocks, the
                        target row's flow to each context token; reagent = the masked variants in --masks-json (the
                        TypeScript bench writes the masks the CLI draws, so both score the same texts), in batches of
                        64 rows, per seed mean drop when replaced - mean drop when kept, then mean over seeds
Prints one JSON line: {analysis, tokens, loadSeconds, seconds, values | perplexity, nll, peakRssMb}.
Before loading, it estimates the memory the float32 model and the pass need; when that exceeds MemAvailable it prints
{"refused": "..."} and exits 3 instead of being killed by the OOM killer (the Llama-2-7B shape: ~27 GB in float32).

Usage: torch_real.py MODEL_DIR IDS_JSON --analysis bi|ppl|ablation --tokens N [--threads T]"""
import argparse
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch

p = argparse.ArgumentParser()
p.add_argument('model')
p.add_argument('ids')
p.add_argument('--analysis', choices=['bi', 'ppl', 'ablation', 'grad-input', 'ig', 'wanda', 'occlusion', 'attention', 'reagent'], required=True)
p.add_argument('--masks-json', help='reagent: {"seeds": [{"replaced": [[bool]], "variants": [[id]]}]}')
p.add_argument('--steps', type=int, default=20)
p.add_argument('--tokens', type=int, required=True)
p.add_argument('--threads', type=int, default=os.cpu_count())
args = p.parse_args()
torch.set_num_threads(args.threads)

config = json.load(open(os.path.join(args.model, 'config.json')))
ids = json.load(open(args.ids))[:args.tokens]
GRADIENT = args.analysis in ('grad-input', 'ig')
SALIENCY = args.analysis in ('occlusion', 'attention', 'reagent')
BATCH_ROWS = 64  # the saliency variants per forward, as the engine's batches (src/analyses/targetScorer.ts)
if GRADIENT or SALIENCY:
    # The last token is the target, predicted from the others; it is never fed.
    TARGET = ids[-1]
    ids = ids[:-1]
T = len(ids)
L = config['num_hidden_layers']
D = config['hidden_size']
H = config['num_attention_heads']
KV = config.get('num_key_value_heads') or H
HD = config.get('head_dim') or D // H
I = config['intermediate_size']
V = config['vocab_size']
EPS = config.get('rms_norm_eps', 1e-6)
TIED = config.get('tie_word_embeddings') is True
BIAS = config['model_type'] == 'qwen2' or config.get('attention_bias') is True
LOGIT_CHUNK = 256  # the head is applied 256 positions at a time, so logits never take T x V floats at once


def refuse(message):
    print(json.dumps({'refused': message}))
    sys.exit(3)


if config['model_type'] not in ('llama', 'qwen2', 'mistral') or config.get('hidden_act', 'silu') != 'silu':
    refuse(f"model_type {config['model_type']} / hidden_act {config.get('hidden_act')}: not a Llama-family model")
if T > config.get('max_position_embeddings', 2048):
    refuse(f'{T} tokens is more than max_position_embeddings; this script runs one window')

# ---- memory estimate, before anything is loaded ----
params = V * D * (1 if TIED else 2) + D + L * (2 * D + D * H * HD * 2 + D * KV * HD * 2 + 3 * D * I + (H + 2 * KV) * HD * (1 if BIAS else 0))
activations = 4 * (T * (4 * D + 2 * (H + 2 * KV) * HD + 3 * I) + 3 * H * T * T + 2 * min(T, LOGIT_CHUNK) * V)
if args.analysis == 'bi':
    activations += 12 * (L + 1) * T * D  # the stream in float32 and in float64
if GRADIENT:
    activations *= 2 * L  # autograd keeps every block's activations, and their gradients
if args.analysis in ('occlusion', 'reagent'):  # batches of rows; the logits only at the target's position
    activations = BATCH_ROWS * 4 * ((T + 1) * (4 * D + 2 * (H + 2 * KV) * HD + 3 * I) + 3 * H * (T + 1) ** 2 + 2 * V)
need = 4 * params + activations + 400 * 2**20  # + the interpreter, torch and numpy themselves
available = next(int(line.split()[1]) * 1024 for line in open('/proc/meminfo') if line.startswith('MemAvailable:'))
if need > available:
    refuse(f'float32 model and pass need ~{need / 2**30:.1f} GiB ({params / 1e9:.2f} B parameters x 4 bytes + activations); '
           f'this machine has {available / 2**30:.1f} GiB available')


# ---- safetensors, read one tensor at a time ----
# Plain reads, not a memory map: mapped file pages would count in this process's peak RSS on top of the float32 copy.
DTYPES = {'BF16': np.uint16, 'F16': np.float16, 'F32': np.float32}


def tensors(folder):
    index = os.path.join(folder, 'model.safetensors.index.json')
    files = sorted(set(json.load(open(index))['weight_map'].values())) if os.path.exists(index) else ['model.safetensors']
    for file in files:
        with open(os.path.join(folder, file), 'rb') as f:
            n = int.from_bytes(f.read(8), 'little')
            header = json.loads(f.read(n))
            header.pop('__metadata__', None)
            for name, info in header.items():
                if info['dtype'] not in DTYPES:
                    raise SystemExit(f'{name}: dtype {info["dtype"]} not handled')
                start, end = info['data_offsets']
                f.seek(8 + n + start)
                data = np.fromfile(f, dtype=DTYPES[info['dtype']], count=(end - start) // np.dtype(DTYPES[info['dtype']]).itemsize)
                if info['dtype'] == 'BF16':  # bfloat16 is the top half of a float32
                    values = (data.astype(np.uint32) << 16).view(np.float32)
                else:
                    values = data.astype(np.float32)
                yield name, torch.from_numpy(values.reshape(info['shape']))


start = time.perf_counter()
W = dict(tensors(args.model))
head = W['model.embed_tokens.weight'] if TIED else W['lm_head.weight']
load_seconds = time.perf_counter() - start


# ---- the model ----
def rms_norm(x, weight):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS))


def inv_freq():
    base = config.get('rope_theta', 10000.0)
    freq = 1.0 / (base ** (torch.arange(0, HD, 2, dtype=torch.int64).float() / HD))
    scaling = config.get('rope_scaling')
    if scaling is None:
        return freq
    if scaling.get('rope_type', scaling.get('type')) != 'llama3':
        refuse(f'rope_scaling {scaling} is not handled by this script')
    # transformers' _compute_llama3_parameters
    factor, low, high, old = scaling['factor'], scaling['low_freq_factor'], scaling['high_freq_factor'], scaling['original_max_position_embeddings']
    wavelen = 2 * math.pi / freq
    scaled = torch.where(wavelen > old / low, freq / factor, freq)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < old / high) & ~(wavelen > old / low)
    return torch.where(medium, smoothed, scaled)


positions = torch.arange(T + 1, dtype=torch.float32)  # the saliency rows feed the target after the T ids
angles = torch.outer(positions, inv_freq())
emb = torch.cat((angles, angles), dim=-1)
COS, SIN = emb.cos(), emb.sin()  # [T, HD]
MASK = torch.full((T + 1, T + 1), float('-inf')).triu(1)


def rotate_half(x):
    return torch.cat((-x[..., HD // 2:], x[..., :HD // 2]), dim=-1)


def linear(x, name):
    y = x @ W[name + '.weight'].T
    bias = W.get(name + '.bias')
    return y if bias is None else y + bias


def block(h, l, probs=None, squares=None):
    """h: [n, D] or [rows, n, D] (n <= T positions from 0). probs: a list to append the attention probabilities to;
    squares: a dict accumulating each linear layer's input x_j^2 summed over positions (Wanda)."""
    p = f'model.layers.{l}.'
    n = h.shape[-2]
    lead = h.shape[:-1]

    def seen(name, x):
        if squares is not None:
            squares[p + name] = squares.get(p + name, 0) + x.double().pow(2).reshape(-1, x.shape[-1]).sum(0)
        return x
    x = seen('self_attn.q_proj', rms_norm(h, W[p + 'input_layernorm.weight']))
    q = linear(x, p + 'self_attn.q_proj').view(*lead, H, HD).transpose(-3, -2)
    k = linear(x, p + 'self_attn.k_proj').view(*lead, KV, HD).transpose(-3, -2)
    v = linear(x, p + 'self_attn.v_proj').view(*lead, KV, HD).transpose(-3, -2)
    q = q * COS[:n] + rotate_half(q) * SIN[:n]
    k = k * COS[:n] + rotate_half(k) * SIN[:n]
    k = k.repeat_interleave(H // KV, dim=-3)
    v = v.repeat_interleave(H // KV, dim=-3)
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(HD) + MASK[:n, :n]
    weights = torch.softmax(scores, dim=-1)
    if probs is not None:
        probs.append(weights)
    attn = weights @ v  # [..., H, n, HD]
    h = h + linear(seen('self_attn.o_proj', attn.transpose(-3, -2).reshape(*lead, H * HD)), p + 'self_attn.o_proj')
    x = seen('mlp.gate_proj', rms_norm(h, W[p + 'post_attention_layernorm.weight']))
    gate = linear(x, p + 'mlp.gate_proj')
    return h + linear(seen('mlp.down_proj', torch.nn.functional.silu(gate) * linear(x, p + 'mlp.up_proj')), p + 'mlp.down_proj')


# The linear layers that read each recorded input (Wanda): q, k and v read the same x, gate and up too.
WANDA_READERS = {'self_attn.q_proj': ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'], 'self_attn.o_proj': ['self_attn.o_proj'],
                 'mlp.gate_proj': ['mlp.gate_proj', 'mlp.up_proj'], 'mlp.down_proj': ['mlp.down_proj']}


def target_log_probs(rows, target):
    """log p(target | row) for each row of a [rows, n] batch of ids (the target follows the row)."""
    h = W['model.embed_tokens.weight'][rows]
    h = torch.cat([h, W['model.embed_tokens.weight'][torch.tensor([target])].expand(h.shape[0], 1, D)], dim=1)
    for l in range(L):
        h = block(h, l)
    logits = rms_norm(h[:, -2], W['model.norm.weight']) @ head.T
    return torch.log_softmax(logits.double(), dim=-1)[:, target]


def batched_log_probs(variants, target):
    out = []
    for s in range(0, len(variants), BATCH_ROWS):
        out.append(target_log_probs(torch.tensor(variants[s:s + BATCH_ROWS]), target))
    return torch.cat(out)


def residual_stream(skip=None):
    """[input of block 0, output of block 0, ..., output of block L-1], before the final norm."""
    h = W['model.embed_tokens.weight'][torch.tensor(ids)]
    stream = [h]
    for l in range(L):
        if l != skip:
            h = block(h, l)
        stream.append(h)
    return stream


def nll(skip=None):
    """Sum of -log p(ids[t] | ids[:t]) for t = 1..T-1, the head applied in chunks of positions."""
    h = rms_norm(residual_stream(skip)[-1], W['model.norm.weight'])
    target = torch.tensor(ids[1:])
    total = 0.0
    for s in range(0, T - 1, LOGIT_CHUNK):
        logits = h[s:min(s + LOGIT_CHUNK, T - 1)] @ head.T
        logp = torch.log_softmax(logits.double(), dim=-1)
        total -= logp.gather(1, target[s:s + LOGIT_CHUNK, None]).sum().item()
    return total


def log_p_target(token_embeddings):
    """log p(TARGET | ids) from [T, D] token embeddings."""
    h = token_embeddings
    for l in range(L):
        h = block(h, l)
    logits = rms_norm(h[-1:], W['model.norm.weight']) @ head.T
    return torch.log_softmax(logits[0].double(), dim=-1)[TARGET]


def gradient_at(e):
    x = e.detach().clone().requires_grad_(True)
    f = log_p_target(x)
    (g,) = torch.autograd.grad(f, x)
    return f.item(), g


start = time.perf_counter()
result = {'analysis': args.analysis, 'tokens': T, 'threads': args.threads}
if GRADIENT:
    e = W['model.embed_tokens.weight'][torch.tensor(ids)]
    if args.analysis == 'grad-input':
        _, g = gradient_at(e)
        result['values'] = (g.double() * e.double()).sum(-1).tolist()
    else:
        nodes, weights = np.polynomial.legendre.leggauss(args.steps)
        total = torch.zeros(T, dtype=torch.float64)
        for a, w in zip((nodes + 1) / 2, weights / 2):
            _, g = gradient_at(e * float(a))
            total += float(w) * (g.double() * e.double()).sum(-1)
        with torch.no_grad():
            f1, f0 = log_p_target(e).item(), log_p_target(torch.zeros_like(e)).item()
        result['values'] = total.tolist()
        result['delta'] = abs(total.sum().item() - (f1 - f0))
with torch.no_grad():
    if GRADIENT:
        pass
    elif args.analysis == 'wanda':
        squares = {}
        h = W['model.embed_tokens.weight'][torch.tensor(ids)]
        for l in range(L):
            h = block(h, l, squares=squares)
        values = []
        for l in range(L):
            total, count = 0.0, 0
            for site, readers in WANDA_READERS.items():
                norms = squares[f'model.layers.{l}.{site}'].sqrt()
                for reader in readers:
                    w = W[f'model.layers.{l}.{reader}.weight']
                    total += (w.abs().double().sum(0) * norms).sum().item()
                    count += w.numel()
            values.append(total / count)
        result['values'] = values
    elif args.analysis == 'occlusion':
        baseline = batched_log_probs([ids], TARGET)[0]
        variants = [ids[:i] + ids[i + 1:] for i in range(T)]
        result['values'] = (baseline - batched_log_probs(variants, TARGET)).tolist()
    elif args.analysis == 'attention':
        probs = []
        h = W['model.embed_tokens.weight'][torch.tensor(ids + [TARGET])]
        for l in range(L):
            h = block(h, l, probs=probs)
        n = T + 1
        rollout = None
        for p_l in probs:
            mixed = p_l.double().mean(0) / 2 + torch.eye(n, dtype=torch.float64) / 2
            mixed = mixed / mixed.sum(-1, keepdim=True)
            rollout = mixed if rollout is None else mixed @ rollout
        result['values'] = rollout[T - 1, :T].tolist()
    elif args.analysis == 'reagent':
        masks = json.load(open(args.masks_json))['seeds']
        baseline = batched_log_probs([ids], TARGET)[0].item()
        per_seed = []
        for seed in masks:
            drops = (baseline - batched_log_probs(seed['variants'], TARGET)).tolist()
            replaced = torch.tensor(seed['replaced'], dtype=torch.bool)
            d = torch.tensor(drops, dtype=torch.float64)[:, None]
            inside = replaced.sum(0)
            outside = (~replaced).sum(0)
            mean_in = torch.where(inside > 0, (d * replaced).sum(0) / inside.clamp(min=1), torch.zeros(T, dtype=torch.float64))
            mean_out = torch.where(outside > 0, (d * ~replaced).sum(0) / outside.clamp(min=1), torch.zeros(T, dtype=torch.float64))
            per_seed.append(mean_in - mean_out)
        result['values'] = torch.stack(per_seed).mean(0).tolist()
        result['rows'] = sum(len(seed['variants']) for seed in masks)
    elif args.analysis == 'bi':
        stream = [h.double() for h in residual_stream()]
        result['values'] = [(1 - torch.nn.functional.cosine_similarity(stream[l], stream[l + 1], dim=-1, eps=0.0).mean()).item() for l in range(L)]
    elif args.analysis == 'ppl':
        total = nll()
        result['nll'] = total / (T - 1)
        result['perplexity'] = math.exp(total / (T - 1))
    else:
        result['values'] = [math.exp(nll(l) / (T - 1)) for l in range(L)]
result['loadSeconds'] = load_seconds
result['seconds'] = time.perf_counter() - start
result['peakRssMb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
