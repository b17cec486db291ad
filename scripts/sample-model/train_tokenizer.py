#!/usr/bin/env python3
"""Train a GPT-2 style byte-level BPE tokenizer in pure Python and write it in the Hugging Face format.

Vocabulary: ids 0..255 are the 256 bytes (id == byte value, each written as its GPT-2 bytes_to_unicode
character), then NUM_MERGES merged tokens in merge order, then the special token <|endoftext|>
(id 1023 with the defaults: 256 + 767 + 1 = 1024 entries).

Pre-tokenization is GPT-2's regex (needs the `regex` module: Debian python3-regex).
Training: repeatedly merge the most frequent adjacent pair over the pre-token counts; ties are broken by the
pair's (left, right) token ids, smallest first, so the result is deterministic.

The encoder here (class ByteLevelBPE) applies the merges by rank the way Hugging Face's BPE model does, and is
what make_golden.py uses; check_tokenizer.js checks it against the Rust `tokenizers` package.

Usage:
  /usr/bin/python3 scripts/sample-model/train_tokenizer.py [--train /tmp/importance-lens-kjv/train.txt]
                                                            [--out samples/tiny-llama-kjv]
  /usr/bin/python3 scripts/sample-model/train_tokenizer.py --encode FILE [--tokenizer DIR/tokenizer.json]
"""
import argparse
import collections
import json
import os
import sys

import regex

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NUM_MERGES = 767
EOT = "<|endoftext|>"
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
PAT = regex.compile(GPT2_PATTERN)


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()


def pretokenize(text):
    """[(piece, char_start, char_end)] with GPT-2's regex."""
    return [(m.group(0), m.start(), m.end()) for m in PAT.finditer(text)]


def train(text, num_merges=NUM_MERGES):
    counts = collections.Counter(p for p, _, _ in pretokenize(text))
    words = [list(p.encode("utf-8")) for p in counts]  # token ids; initially byte values
    freqs = [counts[p] for p in counts]
    pair_counts = collections.Counter()
    where = collections.defaultdict(set)  # pair -> indices of words containing it
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pair_counts[(a, b)] += freqs[i]
            where[(a, b)].add(i)
    merges = []
    next_id = 256
    for _ in range(num_merges):
        if not pair_counts:
            break
        best = max(pair_counts.items(), key=lambda kv: (kv[1], -kv[0][0], -kv[0][1]))[0]
        if pair_counts[best] <= 0:
            break
        merges.append(best)
        new = next_id
        next_id += 1
        for i in list(where[best]):
            w = words[i]
            f = freqs[i]
            for a, b in zip(w, w[1:]):
                pair_counts[(a, b)] -= f
            out = []
            j = 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == best[0] and w[j + 1] == best[1]:
                    out.append(new)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for a, b in zip(out, out[1:]):
                pair_counts[(a, b)] += f
                where[(a, b)].add(i)
        for p in [p for p, c in pair_counts.items() if c <= 0]:
            del pair_counts[p]
            where.pop(p, None)
    return merges


def build_vocab(merges):
    tok = [B2U[b] for b in range(256)]
    for a, b in merges:
        tok.append(tok[a] + tok[b])
    return tok


def tokenizer_json(merges):
    tok = build_vocab(merges)
    vocab = {t: i for i, t in enumerate(tok)}
    assert len(vocab) == len(tok), "duplicate token strings"
    eot_id = len(tok)
    vocab[EOT] = eot_id
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": eot_id, "content": EOT, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [f"{tok[a]} {tok[b]}" for a, b in merges]},
    }


def tokenizer_config(max_len=256):
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {},
        "bos_token": EOT,
        "clean_up_tokenization_spaces": False,
        "eos_token": EOT,
        "model_max_length": max_len,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": None,
    }


class ByteLevelBPE:
    """Encoder for the tokenizer.json written above (and for any GPT-2 style byte-level BPE with no normalizer)."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            tj = json.load(f)
        m = tj["model"]
        self.vocab = m["vocab"]
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        merges = [tuple(x.split(" ")) if isinstance(x, str) else tuple(x) for x in m["merges"]]
        self.ranks = {p: r for r, p in enumerate(merges)}
        self.special = {t["content"]: t["id"] for t in tj.get("added_tokens", [])}
        self.cache = {}

    def bpe(self, piece):
        if piece in self.cache:
            return self.cache[piece]
        syms = [B2U[b] for b in piece.encode("utf-8")]
        while len(syms) > 1:
            best, best_rank = None, None
            for i in range(len(syms) - 1):
                r = self.ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best is None:
                break
            pair = (syms[best], syms[best + 1])
            out, i = [], 0
            while i < len(syms):
                if i + 1 < len(syms) and (syms[i], syms[i + 1]) == pair:
                    out.append(syms[i] + syms[i + 1])
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            syms = out
        self.cache[piece] = syms
        return syms

    def encode(self, text):
        """(ids, offsets) where offsets are (start, end) character offsets into text."""
        ids, offsets = [], []
        segments = [(text, 0)]
        if self.special:
            sp = regex.compile("|".join(regex.escape(s) for s in sorted(self.special, key=len, reverse=True)))
            segments, pos = [], 0
            for mt in sp.finditer(text):
                segments.append((text[pos:mt.start()], pos))
                segments.append((None, mt))
                pos = mt.end()
            segments.append((text[pos:], pos))
        for seg, base in segments:
            if seg is None:
                ids.append(self.special[base.group(0)])
                offsets.append((base.start(), base.end()))
                continue
            for piece, s, _e in pretokenize(seg):
                # byte offset within the piece -> char offset
                char_of_byte = []
                for ci, ch in enumerate(piece):
                    char_of_byte += [ci] * len(ch.encode("utf-8"))
                char_of_byte.append(len(piece))
                b = 0
                for sym in self.bpe(piece):
                    nb = len(sym)  # one unicode char per byte
                    ids.append(self.vocab[sym])
                    offsets.append((base + s + char_of_byte[b], base + s + char_of_byte[b + nb - 1] + 1))
                    b += nb
        return ids, offsets


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", default="/tmp/importance-lens-kjv/train.txt")
    ap.add_argument("--out", default=os.path.join(REPO, "samples", "tiny-llama-kjv"))
    ap.add_argument("--merges", type=int, default=NUM_MERGES)
    ap.add_argument("--encode", help="print the ids of this file's text (no training)")
    ap.add_argument("--tokenizer", default=os.path.join(REPO, "samples", "tiny-llama-kjv", "tokenizer.json"))
    args = ap.parse_args()
    if args.encode:
        with open(args.encode, encoding="utf-8") as f:
            ids, _ = ByteLevelBPE(args.tokenizer).encode(f.read())
        print(json.dumps(ids))
        return
    with open(args.train, encoding="utf-8") as f:
        text = f.read()
    merges = train(text, args.merges)
    os.makedirs(args.out, exist_ok=True)
    tj = tokenizer_json(merges)
    with open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False, indent=2)
        f.write("\n")
    with open(os.path.join(args.out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_config(), f, indent=2)
        f.write("\n")
    enc = ByteLevelBPE(os.path.join(args.out, "tokenizer.json"))
    n_train = len(enc.encode(text)[0])
    print(f"merges {len(merges)}, vocab {len(tj['model']['vocab'])}, training text {len(text)} chars -> "
          f"{n_train} tokens ({len(text) / n_train:.2f} chars/token)")
    for name in ("psalms-23.txt", "john-1.txt"):
        with open(os.path.join(REPO, "samples", "text", name), encoding="utf-8") as f:
            t = f.read()
        print(f"{name}: {len(enc.encode(t)[0])} tokens")


if __name__ == "__main__":
    sys.exit(main())
