#!/usr/bin/env node
// Stand-in for the VS Code executable that @vscode/test-electron's runTests() launches (no Electron VS Code can be
// downloaded here): takes VS Code's flags, runs the extension tests in code-server + headless chromium, and exits
// with their code (the README's Tests section says how).
const { runExtensionTests } = require('../../out/test/harness/runExtensionTests.js');

const flag = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const folder = process.argv.slice(2).find((a) => !a.startsWith('-'));
const extensionDevelopmentPath = flag('extensionDevelopmentPath');
const extensionTestsPath = flag('extensionTestsPath');
if (!extensionDevelopmentPath || !extensionTestsPath || !folder) {
  console.error(`code-shim: need --extensionDevelopmentPath=, --extensionTestsPath= and a folder; got ${process.argv.slice(2).join(' ')}`);
  process.exit(2);
}
runExtensionTests({ extensionDevelopmentPath, extensionTestsPath, folder }).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`code-shim: ${error.stack ?? error}`);
    process.exit(1);
  },
);
