#!/bin/bash
# The block engine's speed and memory against torch on real-shaped random checkpoints (docs/engine.md, "Measured"):
# generates the models once under $DIR (default /tmp/engine-check; 0.99 + 2.3 + 12.6 GB of disk), then runs each job
# under /usr/bin/time, engine and torch one after the other, and prints one line per run. Official benchmarks are
# bench/'s; this is the engine author's check. Usage: scripts/engine-check/measure.sh [DIR]   (after npm run build)
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=${1:-/tmp/engine-check}
mkdir -p "$DIR"
for shape in qwen2-0.5b llama-1b llama2-7b; do
  [ -f "$DIR/$shape/config.json" ] || /usr/bin/python3 scripts/engine-check/make_shaped_model.py "$shape" "$DIR/$shape"
done
for i in 1 2 3; do cat samples/text/*.txt; done > "$DIR/text.txt"
node -e "
const { TextTokenizer } = require('./out/src/compute/tokenizer.js');
(async () => { const ids = (await (await TextTokenizer.load('samples/tiny-llama-kjv')).encode(require('fs').readFileSync('$DIR/text.txt', 'utf8'))).map((s) => s.id);
for (const n of [256, 2048]) require('fs').writeFileSync('$DIR/ids' + n + '.json', JSON.stringify(ids.slice(0, n))); })();"
timed() { /usr/bin/time -f "$1: wall %e s, CPU %U + %S s, peak RSS %M kB" "${@:2}" > "$DIR/$1.json"; }
T="$DIR/text.txt"
timed 0.5b-bi-engine node dist/cli.js layers "$DIR/qwen2-0.5b" --metric block-influence --text-file "$T" --max-tokens 256 --json
timed 0.5b-bi-torch /usr/bin/python3 scripts/engine-check/torch_baseline.py "$DIR/qwen2-0.5b" "$DIR/ids256.json" bi
timed 1b-bi-engine node dist/cli.js layers "$DIR/llama-1b" --metric block-influence --text-file "$T" --max-tokens 256 --json
timed 1b-bi-torch /usr/bin/python3 scripts/engine-check/torch_baseline.py "$DIR/llama-1b" "$DIR/ids256.json" bi
timed 0.5b-ppl-engine node dist/cli.js perplexity "$DIR/qwen2-0.5b" --text-file "$T" --max-tokens 2048 --json
timed 0.5b-ppl-torch /usr/bin/python3 scripts/engine-check/torch_baseline.py "$DIR/qwen2-0.5b" "$DIR/ids2048.json" ppl
timed 7b-bi-engine node dist/cli.js layers "$DIR/llama2-7b" --metric block-influence --text-file "$T" --max-tokens 256 --json
