// Runs the GGUF tokenizer over every vocabulary of a llama.cpp checkout that has test vectors
// (models/ggml-vocab-*.gguf with .inp/.out) and prints how many inputs give llama.cpp's ids. Only three of those
// vocabularies are committed (test/fixtures/gguf: the rest would pass 10 MB); this checks the others where a
// llama.cpp tree is at hand. Vocabularies this tokenizer refuses (bert, gemma4, unknown pre-tokenizers) say why.
// Run after `npm run build:tests`, with llama.cpp's source (e.g. from node-llama-cpp's bundle, see
// test/fixtures/gguf/README.md):
//   node scripts/gguf-vocab-vectors.mjs path/to/llama.cpp
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const { GgufTokenizer } = createRequire(import.meta.url)(join(root, 'out', 'src', 'compute', 'ggufTokenizer.js'));
const llama = process.argv[2];
if (!llama || !existsSync(join(llama, 'models'))) {
  console.error('usage: node scripts/gguf-vocab-vectors.mjs LLAMA_CPP_DIR');
  process.exit(2);
}
const models = join(llama, 'models');
const SEPARATOR = '\n__ggml_vocab_test__\n';

for (const file of readdirSync(models).filter((f) => /^ggml-vocab-.*\.gguf$/.test(f)).sort()) {
  const path = join(models, file);
  if (!existsSync(`${path}.inp`) || !existsSync(`${path}.out`)) continue;
  let tokenizer;
  try {
    tokenizer = await GgufTokenizer.load(path);
  } catch (error) {
    console.log(`${file}: refused: ${error.message.slice(path.length + 2)}`);
    continue;
  }
  // As llama.cpp's tests/test-tokenizer-0.cpp reads them: inputs split by the separator, one line of ids each.
  const raw = readFileSync(`${path}.inp`, 'utf8');
  const inputs = [];
  for (let pos = 0; pos < raw.length;) {
    const next = raw.indexOf(SEPARATOR, pos);
    if (next < 0) {
      inputs.push(raw.slice(pos));
      break;
    }
    inputs.push(raw.slice(pos, next));
    pos = next + SEPARATOR.length;
  }
  const outputs = readFileSync(`${path}.out`, 'utf8').split('\n').slice(0, inputs.length).map((line) => line.trim());
  const wrong = inputs.filter((input, i) => tokenizer.tokenize(input, { addSpecial: false, parseSpecial: false }).map((s) => s.id).join(' ') !== outputs[i]);
  console.log(`${file}: ${inputs.length - wrong.length}/${inputs.length} inputs give llama.cpp's ids${wrong.length > 0 ? `; first wrong: ${JSON.stringify(wrong[0])}` : ''}`);
}
