// Shared test plumbing: temp directories that clean up after themselves, and paths to the built bundles.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** Repository root, from out/test/unit/. */
export const ROOT = join(__dirname, '..', '..', '..');
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
