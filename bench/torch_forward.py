#!/usr/bin/python3
"""The torch baseline for `npm run bench` (forward passes): the plain-torch reference model of
scripts/sample-model/model.py on Debian's torch, CPU, 2 threads — the same work as bench/forward.bench.ts:
  forward: one window of the given token ids, best of 5, as tokens per second
  occlusion: log p(last token) for every leave-one-out variant of the context, in batches of 32, best of 2
Usage: torch_forward.py MODEL_DIR IDS_JSON   (prints one JSON line)"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts', 'sample-model'))
from model import Model  # noqa: E402

torch.set_num_threads(2)
model = Model.load(sys.argv[1])
ids = json.loads(open(sys.argv[2]).read())


def best(runs, fn):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


with torch.no_grad():
    model.forward(ids)  # warm-up
    forward = best(5, lambda: model.forward(ids))

    context, target = ids[:-1], ids[-1]

    def occlusion():
        variants = [context[:i] + context[i + 1:] + [target] for i in range(len(context))]
        scores = []
        for start in range(0, len(variants), 32):
            logits, _ = model.forward(torch.tensor(variants[start:start + 32]))
            scores.extend(torch.log_softmax(logits[:, -2], -1)[:, target].tolist())
        return scores

    saliency = best(2, occlusion)
print(json.dumps({'forwardSeconds': forward, 'tokens': len(ids), 'occlusionSeconds': saliency, 'variants': len(ids) - 1}))
