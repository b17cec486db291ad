// Runs inside VS Code's extension host (the extensionTestsPath). Mocha, in-process, over the *.test.js beside
// this file; rejects when any test fails so the workbench reports exit code 1.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  // Per test: above helpers.ts waitFor's 60 s, so a wait that runs out reports what it waited for.
  const mocha = new Mocha({ ui: 'bdd', timeout: 90_000, color: false, reporter: 'spec' });
  for (const file of readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) mocha.addFile(join(__dirname, file));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} extension-host test(s) failed`)) : resolve()));
  });
}
