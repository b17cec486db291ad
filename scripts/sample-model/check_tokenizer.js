#!/usr/bin/env node
// Checks the Python encoder (train_tokenizer.py, class ByteLevelBPE) against Hugging Face's Rust tokenizers
// (npm package `tokenizers`, installed OUTSIDE this repository, e.g. `cd /tmp/tk && npm install tokenizers@0.23.2`).
//
// usage: node scripts/sample-model/check_tokenizer.js [TOKENIZERS_MODULE_DIR] [tokenizer.json ...]
//   default module dir: $TOKENIZERS_MODULE or /tmp/tk/node_modules/tokenizers
//   default tokenizer:  samples/tiny-llama-kjv/tokenizer.json
// For every tokenizer and every text (samples/text/*.txt plus a few edge cases) the ids and the character
// offsets must be identical. Exit 0 when they all agree, 1 otherwise.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const repo = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const modDir = args[0] && !args[0].endsWith('.json') ? args.shift() : (process.env.TOKENIZERS_MODULE || '/tmp/tk/node_modules/tokenizers');
const tokenizers = args.length ? args : [path.join(repo, 'samples', 'tiny-llama-kjv', 'tokenizer.json')];
const { Tokenizer } = require(modDir);

const texts = {};
for (const f of fs.readdirSync(path.join(repo, 'samples', 'text')).sort()) {
  if (f.endsWith('.txt')) texts[f] = fs.readFileSync(path.join(repo, 'samples', 'text', f), 'utf8');
}
Object.assign(texts, {
  'edge:spaces': "  two  spaces\n\n\tand tabs   \n",
  'edge:contractions': "I'll say it's the LORD's; we've I'm you'd they're.",
  'edge:digits': 'Genesis 1:1-50:26, in 1611 and 2024!!',
  'edge:unicode': 'Ærø — naïve café 東京 🙂 ok',
  'edge:special': 'before<|endoftext|>after <|endoftext|> end',
});

const py = `
import json, sys
sys.path.insert(0, ${JSON.stringify(__dirname)})
from train_tokenizer import ByteLevelBPE
req = json.load(sys.stdin)
enc = ByteLevelBPE(req["tokenizer"])
print(json.dumps({k: enc.encode(v) for k, v in req["texts"].items()}))
`;

(async () => {
  let bad = 0;
  for (const tj of tokenizers) {
    const out = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify({ tokenizer: tj, texts }) }).toString());
    const tok = Tokenizer.fromFile(tj);
    for (const [name, text] of Object.entries(texts)) {
      const e = await tok.encode(text);
      const ids = Array.from(e.getIds());
      const offs = e.getOffsets().map((o) => [o[0], o[1]]);
      const [pyIds, pyOffs] = out[name];
      const idsOk = JSON.stringify(ids) === JSON.stringify(pyIds);
      const offsOk = JSON.stringify(offs) === JSON.stringify(pyOffs);
      if (!idsOk || !offsOk) bad++;
      console.log(`${idsOk && offsOk ? 'ok  ' : 'FAIL'} ${path.relative(repo, tj)} ${name}: ${ids.length} tokens, ids ${idsOk ? 'equal' : 'DIFFER'}, offsets ${offsOk ? 'equal' : 'DIFFER'}`);
      if (!idsOk) console.log('  rust', JSON.stringify(ids.slice(0, 40)), '\n  py  ', JSON.stringify(pyIds.slice(0, 40)));
      if (idsOk && !offsOk) console.log('  rust', JSON.stringify(offs.slice(0, 12)), '\n  py  ', JSON.stringify(pyOffs.slice(0, 12)));
    }
  }
  console.log(bad ? `${bad} mismatches` : 'all equal');
  process.exit(bad ? 1 : 0);
})();
