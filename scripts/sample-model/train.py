#!/usr/bin/env python3
"""Train the sample model samples/tiny-llama-kjv (a toy Llama with GQA) on KJV text (Genesis, Exodus,
Matthew-Luke, Acts; see kjv_text.py).

Prerequisites (see samples/tiny-llama-kjv/README.md):
  /usr/bin/python3 scripts/sample-model/kjv_text.py          # -> /tmp/importance-lens-kjv/train.txt, samples/text/
  /usr/bin/python3 scripts/sample-model/train_tokenizer.py   # -> samples/tiny-llama-kjv/tokenizer*.json
Then (OpenBLAS from get_openblas.sh: Debian's torch uses the reference BLAS, ~10x slower)
  export LD_LIBRARY_PATH=$(scripts/sample-model/get_openblas.sh) OPENBLAS_NUM_THREADS=1
  /usr/bin/python3 scripts/sample-model/train.py --steps 1500  # -> samples/tiny-llama-kjv/{config,generation_config}
                                                               #    .json, model.safetensors, train-log.json
  /usr/bin/python3 scripts/sample-model/train.py --measure 20  # time a few steps, write nothing
  --out DIR writes elsewhere (the tokenizer files are copied there).

Everything is seeded (torch.manual_seed(SEED); batches drawn from a torch.Generator) and runs on 1 CPU thread;
training stops after a fixed number of steps, never on wall time. Same machine + same BLAS -> bit-identical weights.
"""
import argparse
import json
import math
import os
import shutil
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Model, analyse, write_safetensors  # noqa: E402
from train_tokenizer import ByteLevelBPE  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "samples", "tiny-llama-kjv")
SEED = 1611

CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 128,
    "intermediate_size": 352,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 32,
    "hidden_act": "silu",
    "max_position_embeddings": 256,
    "rms_norm_eps": 1e-05,
    "rope_theta": 10000.0,
    "rope_scaling": None,
    "attention_bias": False,
    "attention_dropout": 0.0,
    "mlp_bias": False,
    "initializer_range": 0.02,
    "tie_word_embeddings": False,
    "torch_dtype": "float32",
    "use_cache": True,
    "transformers_version": "4.46.0",
}


def blas_library():
    """Which libblas the process loaded (the numbers depend on it slightly)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line}
        return sorted(p for p in libs if p.startswith("/")) or None
    except OSError:
        return None


def init_params(cfg, gen):
    """HF LlamaPreTrainedModel init: Linear/Embedding ~ N(0, initializer_range), RMSNorm weights 1.
    Returned in the order the safetensors file lists them."""
    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    hd, nh, nkv = cfg["head_dim"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    std = cfg["initializer_range"]

    def normal(*shape):
        return torch.randn(*shape, generator=gen) * std

    P = {"model.embed_tokens.weight": normal(V, H)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        P[p + "input_layernorm.weight"] = torch.ones(H)
        P[p + "self_attn.q_proj.weight"] = normal(nh * hd, H)
        P[p + "self_attn.k_proj.weight"] = normal(nkv * hd, H)
        P[p + "self_attn.v_proj.weight"] = normal(nkv * hd, H)
        P[p + "self_attn.o_proj.weight"] = normal(H, nh * hd)
        P[p + "post_attention_layernorm.weight"] = torch.ones(H)
        P[p + "mlp.gate_proj.weight"] = normal(I, H)
        P[p + "mlp.up_proj.weight"] = normal(I, H)
        P[p + "mlp.down_proj.weight"] = normal(H, I)
    P["model.norm.weight"] = torch.ones(H)
    P["lm_head.weight"] = normal(V, H)
    return P


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", default="/tmp/importance-lens-kjv/train.txt")
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--tokenizer", default=os.path.join(OUT, "tokenizer.json"))
    ap.add_argument("--steps", type=int, default=1500)  # 0.19 s/step here: ~5 minutes
    ap.add_argument("--measure", type=int, default=0, help="time this many steps and exit")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (default 1: on the shared 2-core machine 2 OpenMP threads were 10x slower)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)

    enc = ByteLevelBPE(args.tokenizer)
    eot = enc.special["<|endoftext|>"]
    with open(args.train, encoding="utf-8") as f:
        train_text = f.read()
    data = torch.tensor(enc.encode(train_text)[0], dtype=torch.long)
    cfg = dict(CONFIG, vocab_size=len(enc.vocab), bos_token_id=eot, eos_token_id=eot)
    gen = torch.Generator().manual_seed(SEED)
    P = init_params(cfg, gen)
    for t in P.values():
        t.requires_grad_(True)
    model = Model(cfg, P)
    decay = [t for n, t in P.items() if t.dim() >= 2]
    no_decay = [t for n, t in P.items() if t.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))
    steps = args.measure or args.steps

    def lr_at(s):
        if s < args.warmup:
            return args.lr * (s + 1) / args.warmup
        prog = (s - args.warmup) / max(1, steps - args.warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * prog)))  # cosine to 10% of peak

    n_params = sum(t.numel() for t in P.values())
    print(f"{len(data)} training tokens, vocab {cfg['vocab_size']}, {n_params} parameters, {steps} steps of "
          f"{args.batch}x{args.context} tokens", flush=True)
    log = []
    t0 = time.time()
    ema = None
    for s in range(steps):
        starts = torch.randint(0, len(data) - args.context - 1, (args.batch,), generator=gen)
        x = torch.stack([data[i:i + args.context] for i in starts])
        y = torch.stack([data[i + 1:i + 1 + args.context] for i in starts])
        for g in opt.param_groups:
            g["lr"] = lr_at(s)
        logits, _ = model.forward(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(P.values()), 1.0)
        opt.step()
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if s % 50 == 0 or s == steps - 1:
            el = time.time() - t0
            log.append({"step": s, "loss": round(loss.item(), 4), "loss_ema": round(ema, 4), "lr": lr_at(s),
                        "seconds": round(el, 1)})
            print(f"step {s:5d} loss {loss.item():.4f} ema {ema:.4f} lr {lr_at(s):.2e} {el:7.1f}s", flush=True)
    seconds = time.time() - t0
    if args.measure:
        print(f"{seconds / steps:.3f} s/step")
        return

    # final train loss: mean over 32 fixed batches (seeded), no grad
    P = {k: v.detach() for k, v in P.items()}
    model = Model(cfg, P)
    eval_gen = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        losses = []
        for _ in range(32):
            starts = torch.randint(0, len(data) - args.context - 1, (args.batch,), generator=eval_gen)
            x = torch.stack([data[i:i + args.context] for i in starts])
            y = torch.stack([data[i + 1:i + 1 + args.context] for i in starts])
            lg, _ = model.forward(x)
            losses.append(torch.nn.functional.cross_entropy(lg.reshape(-1, lg.shape[-1]), y.reshape(-1)).item())
    train_loss = sum(losses) / len(losses)

    os.makedirs(args.out, exist_ok=True)
    tok_dir = os.path.dirname(os.path.abspath(args.tokenizer))
    if tok_dir != os.path.abspath(args.out):
        for fn in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copyfile(os.path.join(tok_dir, fn), os.path.join(args.out, fn))
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": eot, "eos_token_id": eot, "do_sample": True, "temperature": 0.8,
                   "top_k": 40, "max_new_tokens": 64, "transformers_version": CONFIG["transformers_version"]},
                  f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(args.out, "model.safetensors"), P, "F32", {"format": "pt"})

    # held-out evaluation on John 1
    reloaded = Model.load(args.out)
    with open(os.path.join(REPO, "samples", "text", "john-1.txt"), encoding="utf-8") as f:
        john = enc.encode(f.read())[0]
    W = cfg["max_position_embeddings"]
    first = analyse(reloaded, john[:W])
    with torch.no_grad():  # whole chapter in non-overlapping windows of 256
        tot, cnt = 0.0, 0
        for i in range(0, len(john) - 1, W):
            w = torch.tensor(john[i:i + W])
            if len(w) < 2:
                continue
            lg, _ = reloaded.forward(w)
            lp = torch.log_softmax(lg[:-1].double(), -1).gather(-1, w[1:, None])
            tot -= float(lp.sum())
            cnt += len(w) - 1
    summary = {
        "seed": SEED, "steps": steps, "batch": args.batch, "context": args.context, "lr": args.lr,
        "warmup": args.warmup, "weight_decay": args.weight_decay, "threads": args.threads,
        "torch": torch.__version__, "blas": blas_library(),
        "training_tokens": len(data), "parameters": n_params, "train_seconds": round(seconds, 1),
        "final_train_loss": round(train_loss, 4),
        "heldout": {
            "text": "samples/text/john-1.txt", "tokens": len(john),
            "first_256": {"perplexity": first["perplexity"], "nll": first["nll"],
                          "block_influence": first["block_influence"],
                          "angular_distance": first["angular_distance"],
                          "ablation_perplexity": first["ablation_perplexity"]},
            "all_windows_256": {"predicted_tokens": cnt, "nll": tot / cnt, "perplexity": math.exp(tot / cnt)},
        },
        "log": log,
    }
    with open(os.path.join(args.out, "train-log.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "log"}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
