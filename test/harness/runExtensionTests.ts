// What VS Code does for `--extensionTestsPath`: open the workbench with the extension under development, run the
// tests inside its extension host, and report their exit code. Used by the stand-in executable (code-shim.js).
import { format } from 'node:util';
import { launchBrowser, startCodeServer } from './codeServer';

export interface ExtensionTestRun {
  extensionDevelopmentPath: string;
  extensionTestsPath: string;
  folder: string;
  timeoutMs?: number;
}

export async function runExtensionTests(run: ExtensionTestRun): Promise<number> {
  const verbose = !!process.env.IMPORTANCE_LENS_E2E_VERBOSE;
  const server = await startCodeServer(verbose ? (line) => process.stderr.write(`${line}\n`) : undefined);
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    // The smoke-test driver calls this with the result of the tests' run(): 0 passed, 1 failed. Registered (awaited)
    // before the workbench loads, so a fast run cannot report before the page has the function.
    let reportExit: (code: number) => void = () => undefined;
    const exitCode = new Promise<number>((resolve) => (reportExit = resolve));
    await page.exposeFunction('codeAutomationExit', (code: number) => reportExit(code));
    // The extension host forwards its console as '%c INFO', 'color: …', format, ...args: print the tests' own
    // lines formatted, and the workbench's noise only when asked.
    page.on('console', (message) => {
      void Promise.all(message.args().map((arg) => arg.jsonValue().catch(() => '?'))).then((args: unknown[]) => {
        if (typeof args[0] === 'string' && /^%c (INFO|LOG|WARN|ERROR)/.test(args[0]) && args.length >= 3) {
          process.stdout.write(`${format(...args.slice(2))}\n`);
        } else if (verbose) {
          process.stdout.write(`${message.text()}\n`);
        }
      });
    });
    await page.goto(server.url(run.folder, [
      ['extensionDevelopmentPath', server.remote(run.extensionDevelopmentPath)],
      ['extensionTestsPath', server.remote(run.extensionTestsPath)],
      ['skipWelcome', 'true'],
    ]));
    // Below the UI test's own limit (test/vscode-ui/extensionHost.test.ts), so a suite that hangs is reported here.
    const limitMs = run.timeoutMs ?? 360_000;
    const timeout = new Promise<number>((resolve) => setTimeout(() => {
      process.stderr.write(`extension tests did not finish within ${limitMs / 1000} s\n`);
      resolve(1);
    }, limitMs));
    return await Promise.race([exitCode, timeout]);
  } finally {
    await browser.close();
    await server.stop();
  }
}
