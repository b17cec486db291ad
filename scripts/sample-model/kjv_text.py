#!/usr/bin/env python3
"""Extract King James Bible text (public domain; Debian package bible-kjv) for the sample model.

Writes
  <work>/train.txt            Genesis, Exodus, Matthew, Mark, Luke, Acts (training text, ~0.85 MB, not committed;
                              the Gospel of John is NOT in it)
  samples/text/psalms-23.txt  Psalm 23 (held out; short passage for token saliency)
  samples/text/john-1.txt     John chapter 1 (held out; perplexity / Block Influence)

Format: verse references removed; the verses of a chapter are joined by single spaces into one paragraph
ending in a newline; chapters are separated by a blank line. Plain ASCII (hence UTF-8) prose.

`bible -f` switches pretty-printing OFF (the default is on), which gives exactly one verse per line,
prefixed by its reference ("Ge1:1 "), with no line wrapping.

Usage: /usr/bin/python3 scripts/sample-model/kjv_text.py [--work DIR]
"""
import argparse
import hashlib
import os
import re
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_WORK = os.environ.get("KJV_WORK", "/tmp/importance-lens-kjv")

# Old and New Testament narrative, so that the held-out Gospel of John is in-domain but unseen.
TRAIN_RANGES = ["Genesis 1:1-Exodus 40:38", "Matthew 1:1-Luke 24:53", "Acts 1:1-28:31"]
REF = re.compile(r"^([1-3]?[A-Za-z]+)(\d+):(\d+) (.*)$")


def verses(ref_range):
    out = subprocess.run(["bible", "-f", ref_range], check=True, capture_output=True, text=True).stdout
    result = []
    for line in out.splitlines():
        if not line.strip():
            continue
        m = REF.match(line)
        if not m:
            raise SystemExit(f"unexpected line from bible(1): {line!r}")
        book, chap, verse, text = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
        text = " ".join(text.split())  # collapse any internal whitespace runs
        result.append((book, chap, verse, text))
    return result


def to_prose(vs):
    chapters = []
    key = None
    for book, chap, _verse, text in vs:
        if (book, chap) != key:
            chapters.append([])
            key = (book, chap)
        chapters[-1].append(text)
    return "\n\n".join(" ".join(c) for c in chapters) + "\n"


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    print(f"{os.path.relpath(path, REPO) if path.startswith(REPO) else path}: {len(text.encode('utf-8'))} bytes, sha256 {digest}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=DEFAULT_WORK, help="where train.txt goes (default %(default)s)")
    args = ap.parse_args()
    train = []
    for r in TRAIN_RANGES:
        train += verses(r)
    assert not any(v[0].startswith("Joh") for v in train)
    write(os.path.join(args.work, "train.txt"), to_prose(train))
    write(os.path.join(REPO, "samples", "text", "psalms-23.txt"), to_prose(verses("Psalms 23:1-23:6")))
    write(os.path.join(REPO, "samples", "text", "john-1.txt"), to_prose(verses("John 1:1-1:51")))


if __name__ == "__main__":
    sys.exit(main())
