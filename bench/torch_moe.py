#!/usr/bin/env python3
"""Baseline for bench/moe.bench.ts: the plain-torch MoE reference (test/fixtures/models/moe_reference.py, the
routing loop of transformers' eager Mixtral block) on a checkpoint directory and a JSON list of token ids; prints
{"seconds": best of 3 forward passes} on stdout. Float32 on the CPU, default torch threads.

Usage: /usr/bin/python3 bench/torch_moe.py MODEL_DIR IDS.json
"""
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "fixtures", "models"))
sys.path.insert(0, os.path.join(HERE, "..", "scripts", "sample-model"))
from model import read_safetensors  # noqa: E402
from moe_reference import forward  # noqa: E402


def main():
    directory, ids_file = sys.argv[1], sys.argv[2]
    with open(os.path.join(directory, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    W, _ = read_safetensors(os.path.join(directory, "model.safetensors"))
    with open(ids_file, encoding="utf-8") as f:
        ids = json.load(f)
    best = float("inf")
    with torch.no_grad():
        forward(cfg, W, ids)
        for _ in range(3):
            start = time.perf_counter()
            forward(cfg, W, ids)
            best = min(best, time.perf_counter() - start)
    print(json.dumps({"seconds": best}))


if __name__ == "__main__":
    sys.exit(main())
