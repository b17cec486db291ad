#!/usr/bin/python3
"""A random BF16 checkpoint with the shapes of a real model, for checking the block engine's speed and memory
(the official bench generators live in bench/). Weights N(0, 0.02²), norms 1; tokenizer copied from
samples/tiny-llama-kjv (1024 ids, all < vocab). Tensors are written one at a time, so the script needs about
one tensor of memory; models over 5 GB are written in shards with a model.safetensors.index.json.
Usage: make_shaped_model.py {qwen2-0.5b|llama-1b|llama2-7b} OUT_DIR"""
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
    "llama2-7b": dict(model_type="llama", hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
                      num_key_value_heads=32, intermediate_size=11008, vocab_size=32000, rope_theta=10000.0,
                      rms_norm_eps=1e-5, max_position_embeddings=4096, tie_word_embeddings=False),
}
SHARD_BYTES = 5 * 2**30


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
    if not cfg["tie_word_embeddings"]:
        yield "lm_head.weight", [v, h]


def main():
    name, out = sys.argv[1], sys.argv[2]
    cfg = dict(SHAPES[name], architectures=["ForCausalLM"], hidden_act="silu", torch_dtype="bfloat16")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(13)
    specs = list(tensors(cfg))
    shards, size = [[]], 0
    for n, shape in specs:
        bytes_ = 2 * torch.Size(shape).numel()
        if shards[-1] and size + bytes_ > SHARD_BYTES:
            shards.append([])
            size = 0
        shards[-1].append((n, shape))
        size += bytes_
    names = ["model.safetensors"] if len(shards) == 1 else [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))]
    total = 0
    for name_, shard in zip(names, shards):
        header, off = {"__metadata__": {"format": "pt"}}, 0
        for n, shape in shard:
            size = 2 * torch.Size(shape).numel()
            header[n] = {"dtype": "BF16", "shape": shape, "data_offsets": [off, off + size]}
            off += size
        hb = json.dumps(header, separators=(",", ":")).encode()
        hb += b" " * ((8 - len(hb) % 8) % 8)
        with open(os.path.join(out, name_), "wb") as f:
            f.write(struct.pack("<Q", len(hb)))
            f.write(hb)
            for n, shape in shard:
                t = torch.ones(shape) if n.endswith("norm.weight") else torch.randn(shape) * 0.02
                f.write(t.to(torch.bfloat16).view(torch.int16).numpy().tobytes())
        total += off
    if len(shards) > 1:
        weight_map = {n: name_ for name_, shard in zip(names, shards) for n, _ in shard}
        with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=1)
    off = total
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    sample = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples", "tiny-llama-kjv")
    for file in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(sample, file), out)
    print(f"{out}: {off / 2**30:.2f} GB of BF16 weights")


main()
