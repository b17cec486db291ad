#!/usr/bin/env python3
"""Plain-torch reference forward passes for Hugging Face LlamaForCausalLM (and Qwen2ForCausalLM) and
GPT2LMHeadModel, with a small safetensors reader/writer (no transformers / safetensors packages needed).

Semantics follow transformers' modeling_llama / modeling_qwen2 / modeling_gpt2 (eager attention, no cache):
  Llama/Qwen2: h0 = embed_tokens[ids]; per block  h += o_proj(attn(input_layernorm(h)));
               h += down_proj(silu(gate_proj(x)) * up_proj(x)) with x = post_attention_layernorm(h);
               logits = lm_head(norm(h)).  RMSNorm: w * (x * rsqrt(mean(x^2) + eps)) in float32.
               RoPE: inv_freq = 1 / theta^(arange(0, d, 2) / d), positions 0..T-1, emb = cat(freqs, freqs),
               q' = q cos + rotate_half(q) sin with rotate_half(x) = cat(-x[d/2:], x[:d/2]).
               rope_scaling (linear, dynamic NTK, llama3, yarn incl. its attention scaling of cos/sin) per
               transformers' modeling_rope_utils (rope_inv_freq).
               GQA: each KV head repeated num_attention_heads / num_key_value_heads times.
               Causal softmax(q k^T / sqrt(head_dim)) in float32.  Biases on any projection are used when the
               checkpoint has them (Qwen2: q/k/v; Llama with attention_bias: q/k/v/o; mlp_bias: gate/up/down).
               lm_head.weight, or embed_tokens.weight when tied / absent.
  GPT-2:       h0 = wte[ids] + wpe[pos]; h += c_proj(attn(ln_1(h))); h += mlp.c_proj(gelu_new(c_fc(ln_2(h))));
               logits = ln_f(h) @ wte^T.  Conv1D weights are [in, out] (y = x W + b); c_attn is fused q|k|v;
               LayerNorm eps = layer_norm_epsilon; gelu_new is the tanh approximation.

forward() returns the logits [B, T, V] and `hidden`: L + 1 tensors [B, T, H] -- the residual stream at the input
of every block (hidden[0] = embeddings) and, last, the output of the last block BEFORE the final norm.
Block Influence of block l = 1 - mean_t cos(hidden[l], hidden[l+1]).  skip={l, ...} skips those blocks (the
residual passes through unchanged).

All computation is float32 whatever the checkpoint dtype (F32, F16, BF16 are read).
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------- safetensors

_NP_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
              "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def read_safetensors(path):
    """{name: torch.Tensor} (BF16 is returned as float32), and the __metadata__ dict."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        raw = data[base + b: base + e]
        shape = info["shape"]
        if info["dtype"] == "BF16":
            u16 = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = u16.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(_NP_DTYPES[info["dtype"]]).newbyteorder("<"))
        out[name] = torch.from_numpy(arr.reshape(shape).copy())
    return out, meta


def _bf16_bytes(t):
    """Round-to-nearest-even float32 -> bfloat16 bit patterns."""
    u = t.detach().to(torch.float32).contiguous().numpy().view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return rounded.astype("<u2").tobytes()


def write_safetensors(path, tensors, dtype="F32", metadata=None):
    """tensors: {name: torch.Tensor}; written in the given order, all as dtype (F32, F16 or BF16)."""
    header, chunks, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().to(torch.float32).contiguous()
        if dtype == "F32":
            raw = t.numpy().astype("<f4").tobytes()
        elif dtype == "F16":
            raw = t.numpy().astype("<f2").tobytes()
        elif dtype == "BF16":
            raw = _bf16_bytes(t)
        else:
            raise ValueError(dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    full = {"__metadata__": metadata or {"format": "pt"}}
    full.update(header)
    hb = json.dumps(full, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------- models

def rms_norm(x, w, eps):
    dt = x.dtype
    x = x.to(torch.float32)
    x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return w * x.to(dt)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_inv_freq(d, theta, cfg=None, T=None):
    """(inv_freq [d/2] float32, attention_scaling) as transformers' modeling_rope_utils computes them for
    cfg["rope_scaling"] (rope_type or legacy type): default, linear, dynamic (NTK, with seq_len = T), llama3, yarn."""
    def default(base):
        return 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.int64).to(torch.float32) / d))

    rs = (cfg or {}).get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type", "default"))
    if kind == "default":
        return default(theta), 1.0
    if kind == "linear":
        return default(theta) / rs["factor"], 1.0
    if kind == "dynamic":
        # _compute_dynamic_ntk_parameters with seq_len = T (the dynamic update recomputes for T > max positions)
        max_pos = cfg["max_position_embeddings"]
        factor = rs["factor"]
        seq_len = T if T is not None and T > max_pos else max_pos
        base = theta * ((factor * seq_len / max_pos) - (factor - 1)) ** (d / (d - 2))
        return default(base), 1.0
    if kind == "llama3":
        inv_freq = default(theta)
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old / lo, old / hi
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
        return torch.where(medium, smoothed, scaled), 1.0
    if kind == "yarn":
        # transformers 5: explicit factor as given; max / original only when factor is absent (4.50-4.57 always
        # replaced it by max / original when original_max_position_embeddings was set).
        orig = rs.get("original_max_position_embeddings") or cfg["max_position_embeddings"]
        factor = rs.get("factor")
        if factor is None:
            factor = cfg["max_position_embeddings"] / orig

        def get_mscale(scale, m=1):
            return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

        att = rs.get("attention_factor")
        if att is None:
            if rs.get("mscale") and rs.get("mscale_all_dim"):
                att = float(get_mscale(factor, rs["mscale"]) / get_mscale(factor, rs["mscale_all_dim"]))
            else:
                att = get_mscale(factor)
        beta_fast = rs.get("beta_fast") or 32
        beta_slow = rs.get("beta_slow") or 1

        def corr_dim(rot):
            return (d * math.log(orig / (rot * 2 * math.pi))) / (2 * math.log(theta))

        low, high = corr_dim(beta_fast), corr_dim(beta_slow)
        if rs.get("truncate", True):
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, d - 1)
        if low == high:
            high += 0.001
        ramp = torch.clamp((torch.arange(d // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
        pos_freqs = theta ** (torch.arange(0, d, 2).to(torch.float32) / d)
        extra, inter = 1.0 / pos_freqs, 1.0 / (factor * pos_freqs)
        extra_factor = 1 - ramp
        return inter * (1 - extra_factor) + extra * extra_factor, att
    raise NotImplementedError(f"rope_scaling {kind}")


def rope_cos_sin(T, d, theta, cfg=None):
    inv_freq, scaling = rope_inv_freq(d, theta, cfg, T)
    pos = torch.arange(T, dtype=torch.float32)
    freqs = pos[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos() * scaling, emb.sin() * scaling


def linear(x, W, prefix):
    b = W.get(prefix + ".bias")
    return F.linear(x, W[prefix + ".weight"], b)


def causal_attention(q, k, v, scale):
    """q [B, nh, T, d], k/v [B, nh, T, d] -> [B, nh, T, d]; softmax in float32."""
    T = q.shape[-2]
    s = torch.matmul(q, k.transpose(-1, -2)) * scale
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)
    s = s.masked_fill(mask, torch.finfo(s.dtype).min)
    p = torch.softmax(s.to(torch.float32), dim=-1).to(q.dtype)
    return torch.matmul(p, v)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Model:
    """A loaded checkpoint: .cfg (config.json dict), .W ({HF name: float32 tensor}), .family ('llama' | 'gpt2')."""

    def __init__(self, cfg, W):
        self.cfg = cfg
        self.W = W
        mt = cfg.get("model_type", "")
        self.family = "gpt2" if mt == "gpt2" or "transformer.wte.weight" in W else "llama"
        if self.family == "gpt2":
            self.n_layers = cfg["n_layer"]
        else:
            self.n_layers = cfg["num_hidden_layers"]

    @classmethod
    def load(cls, directory):
        with open(os.path.join(directory, "config.json"), encoding="utf-8") as f:
            cfg = json.load(f)
        W, _ = read_safetensors(os.path.join(directory, "model.safetensors"))
        return cls(cfg, {k: v.to(torch.float32) for k, v in W.items()})

    def forward(self, ids, skip=()):
        if not torch.is_tensor(ids):
            ids = torch.tensor(ids, dtype=torch.long)
        if ids.dim() == 1:
            logits, hidden = self.forward(ids[None], skip)
            return logits[0], [h[0] for h in hidden]
        return (_gpt2 if self.family == "gpt2" else _llama)(self.cfg, self.W, ids, set(skip))


def _llama(cfg, W, ids, skip):
    B, T = ids.shape
    H = cfg["hidden_size"]
    nh = cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads") or nh
    hd = cfg.get("head_dim") or H // nh
    eps = cfg.get("rms_norm_eps", 1e-6)
    theta = cfg.get("rope_theta", 10000.0)
    cos, sin = rope_cos_sin(T, hd, theta, cfg)
    h = F.embedding(ids, W["model.embed_tokens.weight"])
    hidden = [h]
    for l in range(cfg["num_hidden_layers"]):
        if l not in skip:
            p = f"model.layers.{l}."
            x = rms_norm(h, W[p + "input_layernorm.weight"], eps)
            q = linear(x, W, p + "self_attn.q_proj").view(B, T, nh, hd).transpose(1, 2)
            k = linear(x, W, p + "self_attn.k_proj").view(B, T, nkv, hd).transpose(1, 2)
            v = linear(x, W, p + "self_attn.v_proj").view(B, T, nkv, hd).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = k.repeat_interleave(nh // nkv, dim=1)
            v = v.repeat_interleave(nh // nkv, dim=1)
            a = causal_attention(q, k, v, hd ** -0.5).transpose(1, 2).reshape(B, T, nh * hd)
            h = h + linear(a, W, p + "self_attn.o_proj")
            x = rms_norm(h, W[p + "post_attention_layernorm.weight"], eps)
            m = F.silu(linear(x, W, p + "mlp.gate_proj")) * linear(x, W, p + "mlp.up_proj")
            h = h + linear(m, W, p + "mlp.down_proj")
        hidden.append(h)
    x = rms_norm(h, W["model.norm.weight"], eps)
    head = W.get("lm_head.weight")
    if head is None or cfg.get("tie_word_embeddings", False):
        head = W["model.embed_tokens.weight"]
    return F.linear(x, head), hidden


def _gpt2(cfg, W, ids, skip):
    B, T = ids.shape
    H = cfg["n_embd"]
    nh = cfg["n_head"]
    hd = H // nh
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    if cfg.get("activation_function", "gelu_new") != "gelu_new":
        raise NotImplementedError(cfg["activation_function"])
    if cfg.get("scale_attn_by_inverse_layer_idx") or cfg.get("reorder_and_upcast_attn"):
        raise NotImplementedError("scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn")
    scale = hd ** -0.5 if cfg.get("scale_attn_weights", True) else 1.0

    def conv1d(x, p):
        return torch.addmm(W[p + ".bias"], x.reshape(-1, x.shape[-1]), W[p + ".weight"]).view(*x.shape[:-1], -1)

    def ln(x, p):
        return F.layer_norm(x, (H,), W[p + ".weight"], W[p + ".bias"], eps)

    h = F.embedding(ids, W["transformer.wte.weight"]) + W["transformer.wpe.weight"][:T][None]
    hidden = [h]
    for l in range(cfg["n_layer"]):
        if l not in skip:
            p = f"transformer.h.{l}."
            qkv = conv1d(ln(h, p + "ln_1"), p + "attn.c_attn")
            q, k, v = (t.view(B, T, nh, hd).transpose(1, 2) for t in qkv.split(H, dim=-1))
            a = causal_attention(q, k, v, scale).transpose(1, 2).reshape(B, T, H)
            h = h + conv1d(a, p + "attn.c_proj")
            h = h + conv1d(gelu_new(conv1d(ln(h, p + "ln_2"), p + "mlp.c_fc")), p + "mlp.c_proj")
        hidden.append(h)
    x = ln(h, "transformer.ln_f")
    return F.linear(x, W["transformer.wte.weight"]), hidden


# ---------------------------------------------------------------------------------------------- metrics

def nll(logits, ids):
    """Mean negative log-likelihood (nats) of ids[1:] given the logits at positions 0..n-2."""
    ids = torch.as_tensor(ids)
    lp = torch.log_softmax(logits[:-1].to(torch.float64), dim=-1)
    return float(-lp.gather(-1, ids[1:, None]).mean())


def block_metrics(hidden):
    """Per block l: (Block Influence 1 - mean cos, angular distance mean arccos(cos)/pi) over all positions."""
    out = []
    for a, b in zip(hidden[:-1], hidden[1:]):
        c = F.cosine_similarity(a.to(torch.float64), b.to(torch.float64), dim=-1, eps=1e-12).clamp(-1, 1)
        out.append((float(1 - c.mean()), float((torch.arccos(c) / math.pi).mean())))
    return out


def analyse(model, ids):
    """Everything the golden file and the README report, for one window of token ids."""
    with torch.no_grad():
        logits, hidden = model.forward(ids)
        base = nll(logits, ids)
        bm = block_metrics(hidden)
        ablation = []
        for l in range(model.n_layers):
            lg, _ = model.forward(ids, skip={l})
            ablation.append(math.exp(nll(lg, ids)))
    return {"logits": logits, "hidden": hidden, "nll": base, "perplexity": math.exp(base),
            "block_influence": [b for b, _ in bm], "angular_distance": [a for _, a in bm],
            "ablation_perplexity": ablation}
