// npm run package [-- --target linux-x64]: a .vsix for one platform. onnxruntime-node is a native addon that ships
// binaries for every platform in one npm package; a per-platform .vsix keeps only the target's.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TARGETS = { 'linux-x64': 'linux/x64', 'linux-arm64': 'linux/arm64', 'darwin-arm64': 'darwin/arm64', 'win32-x64': 'win32/x64', 'win32-arm64': 'win32/arm64' };
const index = process.argv.indexOf('--target');
const target = index > 0 ? process.argv[index + 1] : `${process.platform}-${process.arch}`;
if (!(target in TARGETS)) {
  console.error(`importance-lens package: unsupported --target ${target} (one of ${Object.keys(TARGETS).join(', ')})`);
  process.exit(2);
}
const root = new URL('..', import.meta.url).pathname;
// tokenizers names its binaries tokenizers.<platform>-<arch>[-abi].node; keep the target's (glibc for Linux).
const TOKENIZER_BINARIES = { 'linux-x64': 'linux-x64-gnu', 'linux-arm64': 'linux-arm64-gnu', 'darwin-arm64': 'darwin-arm64', 'win32-x64': 'win32-x64-msvc', 'win32-arm64': 'win32-arm64-msvc' };
const others = [
  ...Object.entries(TARGETS).filter(([name]) => name !== target).map(([, dir]) => `node_modules/onnxruntime-node/bin/napi-v6/${dir}/**`),
  `!node_modules/tokenizers/tokenizers.${TOKENIZER_BINARIES[target]}.node`,
];
const dir = mkdtempSync(join(tmpdir(), 'il-package-'));
const ignoreFile = join(dir, '.vscodeignore');
writeFileSync(ignoreFile, `${readFileSync(join(root, '.vscodeignore'), 'utf8')}\nnode_modules/tokenizers/*.node\n${others.join('\n')}\n`);
try {
  // The README's screenshot is a relative link: kept as it is (VS Code shows an installed extension's README from
  // its own folder, where docs/ is), since this repository is published nowhere vsce could rewrite it to.
  execFileSync(join(root, 'node_modules', '.bin', 'vsce'), ['package', '--target', target, '--ignoreFile', ignoreFile, '--no-rewrite-relative-links'], { cwd: root, stdio: 'inherit' });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
