// The command line of the real-shape generator (test/fixtures/realShapes.ts, where the generator lives so that tests
// need not import bench code): writes one real-shaped model folder with random BF16 weights.
//
// Usage: node out/bench/realShapes.js SHAPE OUT_DIR [--no-rope-scaling]   (SHAPE: qwen0.5b, llama1b, llama1b-norope, llama7b,
// or tiny-qwen / tiny-llama: 2-block smoke-test shapes)
import { join } from 'node:path';
import { SHAPES, weightTwin, writeModelFolder } from '../test/fixtures/realShapes';

export * from '../test/fixtures/realShapes';

if (require.main === module) {
  const [name, out] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const make = name && SHAPES[name];
  if (!make || !out) {
    console.error(`usage: realShapes.js SHAPE OUT_DIR [--no-rope-scaling]   (SHAPE: ${Object.keys(SHAPES).join(', ')})`);
    process.exit(2);
  }
  const shape = make();
  if (process.argv.includes('--no-rope-scaling')) shape.config.rope_scaling = null;
  const start = performance.now();
  const twin = weightTwin(name);
  const { reused, bytes } = writeModelFolder(out, shape, { ...(twin ? { weightsFrom: join(out, '..', twin) } : {}), log: (l) => console.error(l) });
  console.error(`${out}: ${reused ? 'reused' : 'written'}, ${(bytes / 1e9).toFixed(2)} GB in ${((performance.now() - start) / 1000).toFixed(1)} s`);
}
