// Shared test plumbing: temp directories that clean up after themselves, paths to the built bundles, and the gate
// of the reference checks that run Debian's python3 (skipped where a module is missing, failed under CI).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, type TestContext } from 'node:test';

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

/** What scripts/test-prerequisites.js (plain CommonJS, run before `npm test`) exports to the tests. */
interface Prerequisites {
  PYTHON: string;
  CHROMIUM: string;
  PYTHON_MODULES: Record<string, string>;
  missingPythonModules(modules: string[], python?: string): string[] | null;
  planInstall(state: { missingModules: string[] | null; exists: (path: string) => boolean }): { apt: string[]; node24: boolean; codeServer: boolean };
  nestedNpmEnvironment(env: NodeJS.ProcessEnv, extra?: Record<string, string>): NodeJS.ProcessEnv;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS script shared with npm's pretest, not a module of the build
export const prerequisites = require(join(ROOT, 'scripts', 'test-prerequisites.js')) as Prerequisites;

/** Debian's python3, which the reference checks run (a pyenv or venv python3 on PATH has none of the packages). */
export const PYTHON = prerequisites.PYTHON;

export interface ReferenceEnvironment {
  python: string;
  /** Under CI a missing reference fails the test instead of skipping it. */
  ci: boolean;
}
const defaultEnvironment = (): ReferenceEnvironment => ({ python: PYTHON, ci: /^(true|1)$/i.test(process.env.CI ?? '') });

const found = new Map<string, boolean>();

/**
 * Why a reference check on `modules` cannot run here (Debian's python3 or one of its modules is missing), naming the
 * Debian packages and how to install them; undefined when it can run. Throws for a module that
 * scripts/test-prerequisites.js does not install: every module a test needs must be in its PYTHON_MODULES.
 */
export function missingReference(modules: string[], python = PYTHON): string | undefined {
  const unlisted = modules.filter((m) => !(m in prerequisites.PYTHON_MODULES));
  if (unlisted.length > 0) throw new Error(`the Python module(s) ${unlisted.join(', ')} are not in PYTHON_MODULES of scripts/test-prerequisites.js: add each with its Debian package, so that npm test installs it`);
  const missing = modules.filter((m) => {
    const key = `${python} ${m}`;
    // Imported, not only looked up: a module that is there but broken must not pass for present.
    if (!found.has(key)) found.set(key, existsSync(python) && spawnSync(python, ['-c', `import ${m}`], { stdio: 'ignore' }).status === 0);
    return !found.get(key);
  });
  if (missing.length === 0) return undefined;
  const packages = missing.map((m) => prerequisites.PYTHON_MODULES[m]!);
  return `${python} cannot import ${missing.join(', ')}: install ${packages.join(', ')} (npm run test:prerequisites, or sudo apt-get install ${packages.join(' ')})`;
}

/**
 * For a test (or subtest) that compares with a reference computed by Debian's python3 with `modules`: true when it
 * can run. When it cannot, the test is skipped with the reason, except under CI (CI=true), where it fails: CI that
 * skips its reference checks passes without ever comparing.
 */
export function needsReference(t: Pick<TestContext, 'skip'>, modules: string[], environment: ReferenceEnvironment = defaultEnvironment()): boolean {
  const reason = missingReference(modules, environment.python);
  if (reason === undefined) return true;
  if (environment.ci) throw new Error(`reference check cannot run under CI: ${reason}`);
  t.skip(reason);
  return false;
}

/**
 * The models shared beside the repository (../shared: real trained models that are not copied into it; CI has it
 * too). IMPORTANCE_LENS_SHARED names another place, for a checkout that is not beside it (a git worktree).
 */
export const SHARED = process.env.IMPORTANCE_LENS_SHARED || join(ROOT, '..', 'shared');

/**
 * The path of `relative` under SHARED for a test that needs it, or undefined after skipping the test when it is
 * missing; under CI (CI=true) a missing file fails the test instead.
 */
export function needsShared(t: Pick<TestContext, 'skip'>, relative: string, ci = /^(true|1)$/i.test(process.env.CI ?? '')): string | undefined {
  const path = join(SHARED, relative);
  if (existsSync(path)) return path;
  const reason = `${path} is missing (the shared models beside the repository; set IMPORTANCE_LENS_SHARED to where they are)`;
  if (ci) throw new Error(`cannot run under CI: ${reason}`);
  t.skip(reason);
  return undefined;
}

/** max |a − b| over max |b|: the gradient references' error measure. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return worst / scale;
}

/**
 * Resolves once process `pid` is gone (kill(pid, 0) says ESRCH), polling while the event loop runs so that this
 * process can reap its child; rejects with `what` after `timeoutMs`. A fixed sleep before one check failed under
 * load: a killed child stays in the table until its parent has reaped it.
 */
export async function processGone(pid: number, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return;
      throw error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: process ${pid} is still there ${timeoutMs} ms later`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Row `b` of an input-gradient pass (ModelGradients) against torch: its log p within 1e-4 relative of
 * `reference.objective`, its input gradient within 1e-4 relative of `reference.gradient`. Returns the row's gradient.
 */
export function assertGradientRow(
  out: { logProbs: ArrayLike<number>; gradient: Float32Array }, b: number, seq: number, hidden: number,
  reference: { objective: number; gradient: ArrayLike<number> }, name: string,
): Float32Array {
  assert.ok(Math.abs(out.logProbs[b]! - reference.objective) < 1e-4 * Math.abs(reference.objective), `${name}: log p ${out.logProbs[b]} vs torch ${reference.objective}`);
  const mine = out.gradient.subarray(b * seq * hidden, (b + 1) * seq * hidden);
  const error = relativeError(mine, reference.gradient);
  assert.ok(error <= 1e-4, `${name} row ${b}: gradient relative error ${error}`);
  return mine;
}
