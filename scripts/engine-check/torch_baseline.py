#!/usr/bin/python3
"""The plain-torch float32 baseline for the block engine's checks (the official one is in bench/): loads the
checkpoint with scripts/sample-model/model.py (whole, as float32), then either Block Influence over the first
TOKENS tokens or perplexity over them, on 2 threads. Usage: torch_baseline.py MODEL_DIR IDS_JSON {bi|ppl}
Prints one JSON line; run under /usr/bin/time -v for the peak RSS."""
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sample-model"))
from model import Model, block_metrics, nll  # noqa: E402

torch.set_num_threads(2)
start = time.perf_counter()
model = Model.load(sys.argv[1])
loaded = time.perf_counter()
ids = json.loads(open(sys.argv[2]).read())
with torch.no_grad():
    logits, hidden = model.forward(ids)
    result = {"bi": [b for b, _ in block_metrics(hidden)]} if sys.argv[3] == "bi" else {"perplexity": math.exp(nll(logits, ids))}
end = time.perf_counter()
print(json.dumps({**result, "tokens": len(ids), "loadSeconds": loaded - start, "totalSeconds": end - start}))
