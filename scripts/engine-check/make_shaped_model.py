#!/usr/bin/python3
"""A random BF16 checkpoint with the shapes of a real model, for checking the block engine's speed and memory
(the official bench generators live in bench/). Weights N(0, 0.02²), norms 1; tokenizer copied from
samples/tiny-llama-kjv (1024 ids, all < vocab). Tensors are written one at a time, so the script needs about
one tensor of memory. Usage: make_shaped_model.py {qwen2-0.5b|llama-1b} OUT_DIR"""
import json
import os
import shutil
import struct
import sys

import torch

SHAPES = {
    "qwen2-0.5b": dict(model_type="qwen2", hidden_size=896, num_hidden_layers=24, num_attention_heads=14,
                       num_key_value_heads=2, intermediate_size=4864, vocab_size=151936, rope_theta=1000000.0,
                       rms_norm_eps=1e-6, max_position_embeddings=32768, tie_word_embeddings=True),
    "llama-1b": dict(model_type="llama", hidden_size=2048, num_hidden_layers=16, num_attention_heads=32,
                     num_key_value_heads=8, head_dim=64, intermediate_size=8192, vocab_size=128256,
                     rope_theta=500000.0, rms_norm_eps=1e-5, max_position_embeddings=131072, tie_word_embeddings=True),
}


def tensors(cfg):
    h, i, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    heads, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    d = cfg.get("head_dim", h // heads)
    yield "model.embed_tokens.weight", [v, h]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        yield p + "input_layernorm.weight", [h]
        yield p + "self_attn.q_proj.weight", [heads * d, h]
        yield p + "self_attn.k_proj.weight", [kv * d, h]
        yield p + "self_attn.v_proj.weight", [kv * d, h]
        if cfg["model_type"] == "qwen2":
            yield p + "self_attn.q_proj.bias", [heads * d]
            yield p + "self_attn.k_proj.bias", [kv * d]
            yield p + "self_attn.v_proj.bias", [kv * d]
        yield p + "self_attn.o_proj.weight", [h, heads * d]
        yield p + "post_attention_layernorm.weight", [h]
        yield p + "mlp.gate_proj.weight", [i, h]
        yield p + "mlp.up_proj.weight", [i, h]
        yield p + "mlp.down_proj.weight", [h, i]
    yield "model.norm.weight", [h]


def main():
    name, out = sys.argv[1], sys.argv[2]
    cfg = dict(SHAPES[name], architectures=["ForCausalLM"], hidden_act="silu", torch_dtype="bfloat16")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(13)
    specs = list(tensors(cfg))
    header, off = {"__metadata__": {"format": "pt"}}, 0
    for n, shape in specs:
        size = 2 * torch.Size(shape).numel()
        header[n] = {"dtype": "BF16", "shape": shape, "data_offsets": [off, off + size]}
        off += size
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for n, shape in specs:
            t = torch.ones(shape) if n.endswith("norm.weight") else torch.randn(shape) * 0.02
            f.write(t.to(torch.bfloat16).view(torch.int16).numpy().tobytes())
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    sample = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples", "tiny-llama-kjv")
    for file in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(sample, file), out)
    print(f"{out}: {off / 2**30:.2f} GB of BF16 weights")


main()
