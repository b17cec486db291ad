// Shared test plumbing: temp directories that clean up after themselves, and paths to the built bundles.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after } from 'node:test';

/** The repository root: the nearest directory above the compiled test (or, for an outDir elsewhere, above the
 * working directory) that holds our package.json. */
function findRoot(...starts: string[]): string {
  for (const start of starts) {
    for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
      const manifest = join(dir, 'package.json');
      if (existsSync(manifest) && /"name": "importance-lens"/.test(readFileSync(manifest, 'utf8'))) return dir;
    }
  }
  throw new Error(`cannot find the importance-lens repository above ${starts.join(' or ')}`);
}
export const ROOT = findRoot(__dirname, process.cwd());
export const DIST = join(ROOT, 'dist');
export const SAMPLE_DIR = join(ROOT, 'samples', 'tiny-llama-random');

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'importance-lens-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeTemp(dir: string, name: string, contents: Buffer | string): string {
  const path = join(dir, name);
  writeFileSync(path, contents);
  return path;
}
