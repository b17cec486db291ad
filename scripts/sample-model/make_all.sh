#!/bin/sh
# Rebuilds everything this directory makes, in order (about 6 minutes on one CPU thread):
#   samples/text/*.txt, samples/tiny-llama-kjv/, test/fixtures/models/{tiny-*,golden.json}
# Needs: Debian's /usr/bin/python3 with python3-torch, python3-numpy, python3-regex; bible-kjv; for the
# tokenizer parity check, node and the npm package `tokenizers` outside the repo (TOKENIZERS_MODULE,
# default /tmp/tk/node_modules/tokenizers).
set -eu
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
$PY scripts/sample-model/kjv_text.py
$PY scripts/sample-model/train_tokenizer.py
node scripts/sample-model/check_tokenizer.js
LD_LIBRARY_PATH=$(scripts/sample-model/get_openblas.sh) OPENBLAS_NUM_THREADS=1 $PY scripts/sample-model/train.py --steps 1500
$PY test/fixtures/models/make_fixtures.py
$PY test/fixtures/models/make_golden.py
$PY test/fixtures/models/check_reference.py
